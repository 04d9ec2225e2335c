-- "Add object" from the Sync Monitor or `orgsync sync add`: a sync the file does not have,
-- kept in the overlay with its fields (a JSON array of API names). NULL: the row only
-- overrides keys of one of the file's syncs.
ALTER TABLE sync_overlay ADD COLUMN fields TEXT;
