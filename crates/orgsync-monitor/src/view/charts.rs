//! The charts page: changes captured vs applied per minute and capture→apply latency
//! p50/p95/p99 over 1 h / 24 h / 7 d, and the backlog by state now — from ledger rows (audit
//! events, Synced items), drawn as plain server-rendered SVG (no script, no library).

use chrono::{DateTime, TimeDelta, Utc};

/// A chart's time range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// The last hour, per minute.
    Hour,
    /// The last day, per 30 minutes.
    Day,
    /// The last week, per 6 hours.
    Week,
}

impl Range {
    /// From the query text (`1h`, `24h`, `7d`); the last hour otherwise.
    pub fn parse(s: Option<&str>) -> Range {
        match s {
            Some("24h") => Range::Day,
            Some("7d") => Range::Week,
            _ => Range::Hour,
        }
    }
    /// Its query text.
    pub fn as_str(self) -> &'static str {
        match self {
            Range::Hour => "1h",
            Range::Day => "24h",
            Range::Week => "7d",
        }
    }
    /// Bucket length, seconds.
    pub fn bucket_secs(self) -> i64 {
        match self {
            Range::Hour => 60,
            Range::Day => 1800,
            Range::Week => 6 * 3600,
        }
    }
    /// Number of buckets.
    pub fn buckets(self) -> usize {
        match self {
            Range::Hour => 60,
            Range::Day => 48,
            Range::Week => 28,
        }
    }
    /// The first bucket's start for a chart ending at `now` (bucket-aligned).
    pub fn since(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let b = self.bucket_secs() * 1000;
        let end = (now.timestamp_millis() / b + 1) * b;
        let start = end - b * self.buckets() as i64;
        DateTime::from_timestamp_millis(start).unwrap_or(now)
    }
}

fn index(range: Range, since: DateTime<Utc>, t: DateTime<Utc>) -> Option<usize> {
    let i = (t - since).num_seconds().div_euclid(range.bucket_secs());
    usize::try_from(i).ok().filter(|i| *i < range.buckets())
}

/// Per bucket, events of `kinds` per minute, from `(kind, bucket start, count)` rows.
pub fn per_minute(
    range: Range,
    since: DateTime<Utc>,
    rows: &[(String, DateTime<Utc>, u64)],
    kinds: &[&str],
) -> Vec<f64> {
    let mut v = vec![0.0; range.buckets()];
    let minutes = range.bucket_secs() as f64 / 60.0;
    for (kind, at, n) in rows {
        if kinds.contains(&kind.as_str())
            && let Some(i) = index(range, since, *at)
        {
            v[i] += *n as f64 / minutes;
        }
    }
    v
}

/// The nearest-rank percentile `p` (0–100) of sorted `values`.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Per bucket, p50 / p95 / p99 of the latencies (ms) written in it, in seconds (0 when none).
pub fn latency(range: Range, since: DateTime<Utc>, rows: &[(DateTime<Utc>, i64)]) -> [Vec<f64>; 3] {
    let mut per: Vec<Vec<i64>> = vec![Vec::new(); range.buckets()];
    for (at, ms) in rows {
        if let Some(i) = index(range, since, *at) {
            per[i].push(*ms);
        }
    }
    let mut out = [Vec::new(), Vec::new(), Vec::new()];
    for mut b in per {
        b.sort_unstable();
        for (k, p) in [50.0, 95.0, 99.0].into_iter().enumerate() {
            out[k].push(percentile(&b, p).unwrap_or(0) as f64 / 1000.0);
        }
    }
    out
}

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    /// Legend.
    pub label: &'a str,
    /// Stroke colour.
    pub color: &'a str,
    /// One value per bucket.
    pub values: Vec<f64>,
}

const W: f64 = 640.0;
const H: f64 = 180.0;
const PAD: f64 = 36.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line chart as SVG text: `title`, the series, the y unit, the x axis's two end labels.
pub fn lines(title: &str, series: &[Series<'_>], unit: &str, x: (&str, &str)) -> String {
    lines_with(title, series, &[], unit, x)
}

/// A level drawn across a line chart as a dashed line (a budget), labelled at its right end.
#[derive(Debug, Clone, Copy)]
pub struct Limit<'a> {
    /// Its label.
    pub label: &'a str,
    /// Stroke colour.
    pub color: &'a str,
    /// Its value, in the chart's unit.
    pub value: f64,
}

/// [`lines`] with `limits` drawn across it; the scale reaches the highest of them, so a budget
/// line is always on the chart even while the series run far below it.
pub fn lines_with(
    title: &str,
    series: &[Series<'_>],
    limits: &[Limit<'_>],
    unit: &str,
    x: (&str, &str),
) -> String {
    let n = series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .chain(limits.iter().map(|l| l.value))
        .fold(0.0_f64, f64::max);
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let px = |i: usize| PAD + (W - 2.0 * PAD) * i as f64 / (n - 1) as f64;
    let py = |v: f64| H - PAD + (-(H - 2.0 * PAD) * v / top);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\" class=\"chart\">\
         <title>{t}</title><rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{H}\" fill=\"#fff\"/>\
         <line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#999\"/>\
         <text x=\"4\" y=\"{ty}\" font-size=\"10\">{top:.1} {u}</text><text x=\"4\" y=\"{b}\" font-size=\"10\">0</text>\
         <text x=\"{PAD}\" y=\"{xl}\" font-size=\"10\">{x0}</text><text x=\"{r}\" y=\"{xl}\" font-size=\"10\" text-anchor=\"end\">{x1}</text>",
        t = esc(title),
        b = H - PAD,
        r = W - PAD,
        ty = PAD,
        u = esc(unit),
        xl = H - PAD + 14.0,
        x0 = esc(x.0),
        x1 = esc(x.1),
    );
    for (k, s) in series.iter().enumerate() {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", px(i), py(*v)))
            .collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{p}\"/>\
             <text x=\"{lx}\" y=\"14\" font-size=\"11\" fill=\"{c}\">{l}</text>",
            c = esc(s.color),
            p = points.join(" "),
            lx = PAD + 110.0 * k as f64,
            l = esc(s.label),
        ));
    }
    for (k, l) in limits.iter().enumerate() {
        svg.push_str(&format!(
            "<line x1=\"{PAD}\" y1=\"{y:.1}\" x2=\"{r}\" y2=\"{y:.1}\" stroke=\"{c}\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{r}\" y=\"{ly:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"{c}\">{l}</text>",
            y = py(l.value),
            ly = py(l.value) - 3.0 - 11.0 * k as f64,
            r = W - PAD,
            c = esc(l.color),
            l = esc(l.label),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A bar chart as SVG text: one bar per (label, value).
pub fn bars(title: &str, bars: &[(String, f64)]) -> String {
    let top = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1.0);
    let w = (W - 2.0 * PAD) / bars.len().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\" class=\"chart\">\
         <title>{t}</title><rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{H}\" fill=\"#fff\"/>",
        t = esc(title)
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let h = (H - 2.0 * PAD) * v / top;
        let x = PAD + w * i as f64 + 4.0;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{h:.1}\" fill=\"#3b7ddd\"/>\
             <text x=\"{tx:.1}\" y=\"{ly:.1}\" font-size=\"10\" text-anchor=\"middle\">{l}</text>\
             <text x=\"{tx:.1}\" y=\"{vy:.1}\" font-size=\"10\" text-anchor=\"middle\">{v}</text>",
            y = H - PAD - h,
            bw = (w - 8.0).max(1.0),
            tx = x + (w - 8.0) / 2.0,
            ly = H - PAD + 14.0,
            vy = H - PAD - h - 3.0,
            l = esc(label),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// The time labels of a range's x axis.
pub fn x_labels(range: Range, now: DateTime<Utc>) -> (String, String) {
    let start = now - TimeDelta::seconds(range.bucket_secs() * range.buckets() as i64);
    let fmt = match range {
        Range::Hour | Range::Day => "%H:%M",
        Range::Week => "%a %H:%M",
    };
    (
        start.format(fmt).to_string(),
        format!("{} UTC", now.format(fmt)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_rates_and_percentiles() {
        let now = DateTime::from_timestamp(3600 * 1000 + 30, 0).unwrap_or_default();
        let r = Range::Hour;
        let since = r.since(now);
        assert_eq!(
            (now - since).num_seconds(),
            3600 - 30,
            "aligned to the minute"
        );
        let rows = vec![
            ("item.captured".to_string(), since, 3),
            ("item.merged".to_string(), since, 1),
            ("item.synced".to_string(), since + TimeDelta::minutes(59), 2),
            ("item.synced".to_string(), since - TimeDelta::minutes(1), 9),
        ];
        let captured = per_minute(r, since, &rows, &["item.captured", "item.merged"]);
        assert_eq!((captured[0], captured.len()), (4.0, 60));
        let applied = per_minute(r, since, &rows, &["item.synced"]);
        assert_eq!(
            (applied[59], applied.iter().sum::<f64>()),
            (2.0, 2.0),
            "older rows left out"
        );
        let day = per_minute(Range::Day, Range::Day.since(now), &rows, &["item.captured"]);
        assert!(
            day.iter().any(|v| (*v - 0.1).abs() < 1e-9),
            "3 in 30 min = 0.1/min: {day:?}"
        );
        let sorted: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50.0), Some(50));
        assert_eq!(percentile(&sorted, 99.0), Some(99));
        assert_eq!(percentile(&[7], 95.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        let lat = latency(r, since, &[(since, 1000), (since, 3000), (since, 9000)]);
        assert_eq!((lat[0][0], lat[1][0], lat[2][0]), (3.0, 9.0, 9.0));
        let svg = lines(
            "a <b>",
            &[Series {
                label: "x",
                color: "#000",
                values: vec![1.0, 2.0],
            }],
            "/min",
            ("0", "1"),
        );
        assert!(
            svg.starts_with("<svg") && svg.contains("a &lt;b&gt;") && svg.contains("<polyline")
        );
        assert!(bars("q", &[("queued".into(), 3.0)]).contains(">queued<"));
    }
}
