-- Every record carries a version, one more with every save: a save names the version it read and changes nothing
-- when another process wrote the record since, so a stale writer fails instead of overwriting (as on DynamoDB).
ALTER TABLE deployments ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
