-- MedTrack schema, version 1.
--
-- Instants are UTC text of one fixed width (2027-03-28T09:00:00.000000000Z), so comparing
-- the text compares the instants. Ids are hyphenated lower-case UUID text. Enumerations hold
-- the names the core serialises them with.

CREATE TABLE users (
    id              TEXT    NOT NULL PRIMARY KEY,
    email           TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('patient', 'doctor', 'admin')),
    status          TEXT    NOT NULL
                    CHECK (status IN ('active', 'pending_approval', 'deactivated')),
    phone           TEXT,
    birth_date      TEXT,
    time_zone       TEXT,
    specialty       TEXT,
    schedule        TEXT,
    password_hash   TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    CHECK ((specialty IS NULL) = (schedule IS NULL))
);

-- The email is stored normalised, so this index makes normalised emails unique.
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_role_status_email ON users (role, status, email);
CREATE INDEX users_status_email ON users (status, email);

CREATE TABLE sessions (
    token_hash      TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      TEXT    NOT NULL,
    last_seen_at    TEXT    NOT NULL,
    expires_at      TEXT    NOT NULL
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE appointments (
    id                      TEXT    NOT NULL PRIMARY KEY,
    doctor_id               TEXT    NOT NULL REFERENCES users (id),
    patient_id              TEXT    NOT NULL REFERENCES users (id),
    start_at                TEXT    NOT NULL,
    end_at                  TEXT    NOT NULL,
    buffer_before_minutes   INTEGER NOT NULL CHECK (buffer_before_minutes >= 0),
    buffer_after_minutes    INTEGER NOT NULL CHECK (buffer_after_minutes >= 0),
    reason                  TEXT    NOT NULL,
    status                  TEXT    NOT NULL
                            CHECK (status IN ('booked', 'completed', 'cancelled', 'no_show')),
    created_at              TEXT    NOT NULL,
    updated_at              TEXT    NOT NULL,
    cancelled_at            TEXT,
    version                 INTEGER NOT NULL,
    CHECK (end_at > start_at)
);

CREATE INDEX appointments_doctor_start ON appointments (doctor_id, start_at, id);
CREATE INDEX appointments_patient_start ON appointments (patient_id, start_at, id);
CREATE INDEX appointments_doctor_patient ON appointments (doctor_id, patient_id);

-- One row per cell of someone's time held by a booked appointment. The primary key is the
-- double-booking guarantee: a second claim of the same cell fails inside the transaction
-- that tries to take it.
CREATE TABLE time_claims (
    owner_kind      TEXT    NOT NULL CHECK (owner_kind IN ('doctor', 'patient')),
    owner_id        TEXT    NOT NULL,
    cell            INTEGER NOT NULL,
    appointment_id  TEXT    NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    PRIMARY KEY (owner_kind, owner_id, cell)
) WITHOUT ROWID;

CREATE INDEX time_claims_appointment ON time_claims (appointment_id);

CREATE TABLE diagnoses (
    appointment_id  TEXT    NOT NULL REFERENCES appointments (id),
    version         INTEGER NOT NULL CHECK (version >= 1),
    patient_id      TEXT    NOT NULL REFERENCES users (id),
    doctor_id       TEXT    NOT NULL REFERENCES users (id),
    diagnosis       TEXT    NOT NULL,
    code            TEXT,
    treatment_plan  TEXT    NOT NULL,
    prescriptions   TEXT    NOT NULL,
    authored_at     TEXT    NOT NULL,
    PRIMARY KEY (appointment_id, version)
);

CREATE INDEX diagnoses_patient_authored
    ON diagnoses (patient_id, authored_at, appointment_id, version);

CREATE TABLE reports (
    id              TEXT    NOT NULL PRIMARY KEY,
    patient_id      TEXT    NOT NULL REFERENCES users (id),
    kind            TEXT    NOT NULL
                    CHECK (kind IN ('symptoms', 'measurement', 'result', 'other')),
    title           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    observed_at     TEXT,
    submitted_at    TEXT    NOT NULL
);

CREATE INDEX reports_patient_submitted ON reports (patient_id, submitted_at, id);

-- The audit log deliberately has no foreign keys: it records denied attempts on ids that
-- may not exist, and it must never be what stops a write or a read from being logged.
CREATE TABLE audit_entries (
    id              TEXT    NOT NULL PRIMARY KEY,
    at              TEXT    NOT NULL,
    actor_id        TEXT    NOT NULL,
    actor_role      TEXT    NOT NULL,
    patient_id      TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('allowed', 'denied')),
    appointment_id  TEXT
);

CREATE INDEX audit_entries_patient_at ON audit_entries (patient_id, at, id);
CREATE INDEX audit_entries_at ON audit_entries (at, id);

CREATE TABLE outbox_events (
    id              TEXT    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL,
    recipients      TEXT    NOT NULL,
    appointment_id  TEXT    REFERENCES appointments (id),
    message         TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at TEXT    NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    delivered_at    TEXT,
    CHECK ((lease_owner IS NULL) = (lease_until IS NULL))
);

CREATE INDEX outbox_events_pending_due ON outbox_events (next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX outbox_events_appointment ON outbox_events (appointment_id);
