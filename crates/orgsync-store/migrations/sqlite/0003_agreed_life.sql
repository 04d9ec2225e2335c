-- A record's agreed life (live or deleted, with the event that set it), versioned like a
-- field: JSON {"deleted": bool, "ts": ..., "org": ...}; NULL = never recorded (live).
ALTER TABLE agreed ADD COLUMN life TEXT;
