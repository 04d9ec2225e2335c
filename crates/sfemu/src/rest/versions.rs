//! `GET /services/data/` — the served API versions with their release labels (no auth, not
//! counted, no `Sforce-Limit-Info`), and the labels themselves.

use super::support::{MAX_VERSION, MIN_VERSION, json};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value as Json, json};

/// The release label of an API version: 31.0 = "Summer '14", then Winter, Spring, Summer each
/// year (32.0 = "Winter '15", 62.0 = "Winter '25", 66.0 = "Spring '26").
pub fn label(major: u32) -> String {
    let k = i64::from(major) - 32;
    let season = match k.rem_euclid(3) {
        0 => "Winter",
        1 => "Spring",
        _ => "Summer",
    };
    let year = 15 + k.div_euclid(3);
    format!("{season} '{year:02}")
}

/// The version list body, ascending.
pub fn versions_body() -> Json {
    Json::Array(
        (MIN_VERSION..=MAX_VERSION)
            .map(|v| json!({"label": label(v), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0")}))
            .collect(),
    )
}

/// `GET /services/data/`.
pub async fn list() -> Response {
    json(StatusCode::OK, &versions_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_release_cadence() {
        assert_eq!(label(31), "Summer '14");
        assert_eq!(label(32), "Winter '15");
        assert_eq!(label(33), "Spring '15");
        assert_eq!(label(62), "Winter '25");
        assert_eq!(label(66), "Spring '26");
    }

    #[test]
    fn list_is_ascending_and_complete() {
        let body = versions_body();
        let arr = body.as_array().unwrap();
        assert_eq!(arr.len(), 36);
        assert_eq!(arr[0]["version"], "31.0");
        assert_eq!(arr[0]["url"], "/services/data/v31.0");
        assert_eq!(arr[35]["version"], "66.0");
    }
}
