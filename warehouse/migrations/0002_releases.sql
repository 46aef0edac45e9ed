-- 0002: differentially private releases and the privacy budget ledger.
--
-- A release is reserved (its cost written to the ledger) in the same transaction that
-- records it, before any noise is drawn; it is published later with its canonical body,
-- which is served byte for byte forever. A reservation that never gets published stays
-- charged: the noise may have been drawn, so the budget is spent.

CREATE TABLE releases (
    release_id    VARCHAR PRIMARY KEY,
    cycle_id      VARCHAR NOT NULL,
    seq           INTEGER NOT NULL,
    model_version VARCHAR NOT NULL,
    noise         VARCHAR NOT NULL,
    epsilon_units BIGINT NOT NULL CHECK (epsilon_units > 0),
    delta_units   BIGINT NOT NULL CHECK (delta_units >= 0),
    request       VARCHAR NOT NULL,
    status        VARCHAR NOT NULL CHECK (status IN ('reserved', 'published')),
    reserved_at   TIMESTAMP NOT NULL,
    published_at  TIMESTAMP,
    body          BLOB,
    body_sha256   VARCHAR
);

-- One row per (partitioning, metric family) a release pays for. Budgets are added up in
-- integer units (epsilon 1e-9, delta 1e-18) so that many small entries never drift.
CREATE TABLE budget_ledger (
    release_id    VARCHAR NOT NULL,
    cycle_id      VARCHAR NOT NULL,
    partitioning  VARCHAR NOT NULL,
    family        VARCHAR NOT NULL,
    epsilon_units BIGINT NOT NULL CHECK (epsilon_units >= 0),
    delta_units   BIGINT NOT NULL CHECK (delta_units >= 0),
    l0            BIGINT NOT NULL,
    cohorts       INTEGER NOT NULL,
    reserved_at   TIMESTAMP NOT NULL
);

-- The published figures in long form, derived from the stored body when it is published,
-- for exports and SQL. Value columns are NULL where a cohort is suppressed or an estimate
-- withheld. There is no exact count anywhere: count rows hold noisy values.
CREATE TABLE release_values (
    release_id   VARCHAR NOT NULL,
    ordinal      INTEGER NOT NULL,
    partitioning VARCHAR NOT NULL,
    size_band    VARCHAR NOT NULL,
    region       VARCHAR NOT NULL,
    org_type     VARCHAR NOT NULL,
    metric       VARCHAR NOT NULL,
    subject      VARCHAR NOT NULL,
    bucket       VARCHAR NOT NULL,
    value        DOUBLE,
    raw          DOUBLE,
    ci_low       DOUBLE,
    ci_high      DOUBLE,
    suppressed   BOOLEAN NOT NULL,
    withheld     BOOLEAN NOT NULL,
    reason       VARCHAR NOT NULL,
    family       VARCHAR NOT NULL,
    noise        VARCHAR NOT NULL,
    epsilon      DOUBLE NOT NULL,
    delta        DOUBLE NOT NULL,
    l0           BIGINT NOT NULL,
    linf         DOUBLE NOT NULL,
    noise_scale  DOUBLE NOT NULL
);
