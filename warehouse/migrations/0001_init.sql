-- 0001: the core of the warehouse: organisations, cycles, submissions with their answers
-- and domain scores, and the audit log.
--
-- No foreign keys and no secondary indexes: the single writer keeps the references
-- consistent, and DuckDB's zone maps over append-ordered submission IDs make the lookups
-- cheap, while every index would slow the bulk INSERT ... SELECT path.
-- Timestamps are zone-less and hold UTC.

-- The latest known profile of every organisation that ever submitted.
CREATE TABLE organisations (
    org_id     VARCHAR PRIMARY KEY,
    name       VARCHAR NOT NULL,
    state      VARCHAR NOT NULL,
    beds       INTEGER NOT NULL,
    org_type   VARCHAR NOT NULL,
    size_band  VARCHAR NOT NULL,
    region     VARCHAR NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Assessment cycles with their model version and total privacy budget.
CREATE TABLE cycles (
    cycle_id      VARCHAR PRIMARY KEY,
    model_version VARCHAR NOT NULL,
    epsilon_total DOUBLE NOT NULL CHECK (epsilon_total > 0),
    delta_total   DOUBLE NOT NULL CHECK (delta_total >= 0 AND delta_total < 1),
    status        VARCHAR NOT NULL CHECK (status IN ('open', 'closed')),
    created_at    TIMESTAMP NOT NULL,
    closed_at     TIMESTAMP
);

-- Every stored submission, current or superseded. The profile is snapshotted so that a
-- submission keeps the cohort it was scored in even when the organisation later changes.
CREATE TABLE submissions (
    submission_id  BIGINT PRIMARY KEY,
    org_id         VARCHAR NOT NULL,
    cycle_id       VARCHAR NOT NULL,
    model_version  VARCHAR NOT NULL,
    schema_version INTEGER NOT NULL,
    source         VARCHAR NOT NULL,
    content_hash   VARCHAR NOT NULL,
    received_at    TIMESTAMP NOT NULL,
    submitted_at   TIMESTAMP,
    -- replaces / superseded_by link a resubmission both ways; superseded_by IS NULL marks
    -- the current submission of an (org_id, cycle_id).
    replaces       BIGINT,
    superseded_by  BIGINT,
    org_name       VARCHAR NOT NULL,
    state          VARCHAR NOT NULL,
    beds           INTEGER NOT NULL,
    org_type       VARCHAR NOT NULL,
    size_band      VARCHAR NOT NULL,
    region         VARCHAR NOT NULL,
    posture        TINYINT NOT NULL CHECK (posture BETWEEN 0 AND 9),
    overall_index  DOUBLE NOT NULL
);

-- One row per answer. The CHECK mirrors model.Answer (levels 0..9, -1 unknown, -2 na) as a
-- last line of defence; it is cheap on TINYINT.
CREATE TABLE answers (
    submission_id BIGINT NOT NULL,
    capability_id VARCHAR NOT NULL,
    answer        TINYINT NOT NULL CHECK (answer BETWEEN -2 AND 9)
);

-- One row per domain of a submission's scorecard, for aggregation without parsing JSON.
CREATE TABLE domain_scores (
    submission_id BIGINT NOT NULL,
    domain_id     VARCHAR NOT NULL,
    assessed      BOOLEAN NOT NULL,
    domain_index  DOUBLE NOT NULL,
    posture       TINYINT NOT NULL,
    unknown_count SMALLINT NOT NULL,
    na_count      SMALLINT NOT NULL
);

-- Who did what, for administrative actions (cycles, releases, keys).
CREATE TABLE audit_log (
    id     BIGINT PRIMARY KEY,
    "at"   TIMESTAMP NOT NULL, -- quoted: AT is a keyword
    actor  VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    object VARCHAR NOT NULL,
    detail VARCHAR NOT NULL
);
