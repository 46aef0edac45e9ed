-- 0003: API keys.
--
-- A key is a 256-bit random token shown once, when it is minted. Only its SHA-256 digest
-- is stored: the token has full entropy, so a fast hash is as good as a slow one here and
-- keeps authentication cheap, and a copy of this file does not hand out working keys.
-- key_id is public (logs and the audit log name keys by it); it is not derived from the
-- token, so it says nothing about the secret.
CREATE TABLE api_keys (
    key_id     VARCHAR PRIMARY KEY,
    digest     VARCHAR NOT NULL UNIQUE, -- hex SHA-256 of the token
    role       VARCHAR NOT NULL CHECK (role IN ('admin', 'researcher', 'analyst', 'provider')),
    -- The organisation a provider key is bound to; NULL for every other role.
    org_id     VARCHAR,
    label      VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    CHECK ((role = 'provider') = (org_id IS NOT NULL))
);
