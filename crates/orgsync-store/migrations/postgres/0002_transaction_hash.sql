-- The hash of what a pushed transaction carried (orgsync_core::push::PushRequest::content_hash),
-- so that its id sent again with other content is told apart from a retry. NULL for every
-- other transaction and for rows written before this column existed: those stay valid and
-- are treated as before (a repeat is a duplicate).
ALTER TABLE transactions ADD COLUMN body_hash TEXT;
