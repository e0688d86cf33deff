-- @finaegis/postgres: event store, snapshots, projection checkpoints, outbox.
-- Runs with search_path set to the target schema (see migrate()), so names are unqualified.

-- Global positions come from this single row, locked by every append until its transaction ends.
-- Appends therefore commit one after another in position order, and a reader that has seen
-- position P can never later find a newly committed event below P (a bigserial cannot promise that:
-- a transaction holding position 10 may commit after the one holding 11).
CREATE TABLE position_counter (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_position bigint NOT NULL
);
INSERT INTO position_counter (singleton, last_position) VALUES (true, 0);

CREATE TABLE events (
  position bigint PRIMARY KEY,
  event_id text NOT NULL,
  stream_id text NOT NULL,
  version integer NOT NULL CHECK (version > 0),
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_event_id_key UNIQUE (event_id),
  CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);

CREATE TABLE snapshots (
  stream_id text PRIMARY KEY,
  version integer NOT NULL,
  state jsonb,
  schema_version integer,
  saved_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE checkpoints (
  projection text PRIMARY KEY,
  position bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  channel text NOT NULL,
  message_id text NOT NULL,
  type text NOT NULL,
  body text NOT NULL,
  headers jsonb NOT NULL,
  key text,
  options jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  available_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  claimed_by text,
  lease_until timestamptz,
  sent_at timestamptz,
  failed_at timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE sent_at IS NULL AND failed_at IS NULL;

-- One round trip per append: lock the counter, check the stream's version, insert, move the counter.
-- A version mismatch or an already stored event id is returned (ok = false), not raised, so a caller
-- inside a larger transaction can catch the error without the whole transaction being aborted.
-- p_mode: 'exact' (stream must be at p_expected), 'any', 'exists' (stream must have events).
CREATE FUNCTION append_events(p_stream text, p_mode text, p_expected integer, p_events jsonb)
RETURNS TABLE (ok boolean, stream_version integer, last_position bigint, duplicate_event_id text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  v_count integer := jsonb_array_length(p_events);
  v_last bigint;
  v_current integer;
  v_duplicate text;
BEGIN
  IF v_count = 0 THEN
    -- Checking the version only: no lock, nothing written.
    SELECT coalesce(max(e.version), 0) INTO v_current FROM events e WHERE e.stream_id = p_stream;
    SELECT coalesce(max(e.position), 0) INTO v_last
      FROM events e WHERE e.stream_id = p_stream AND e.version = v_current;
  ELSE
    SELECT c.last_position INTO v_last FROM position_counter c WHERE c.singleton FOR UPDATE;
    -- Read after taking the lock: a new snapshot sees every append that committed before us.
    SELECT coalesce(max(e.version), 0) INTO v_current FROM events e WHERE e.stream_id = p_stream;
    -- Checked before the version: a replayed append is reported as such, not as a conflict.
    SELECT e.event_id INTO v_duplicate FROM events e
     WHERE e.event_id IN (SELECT x->>'eventId' FROM jsonb_array_elements(p_events) AS d(x)) LIMIT 1;
    IF v_duplicate IS NOT NULL THEN
      RETURN QUERY SELECT false, v_current, v_last, v_duplicate;
      RETURN;
    END IF;
  END IF;

  IF (p_mode = 'exact' AND v_current <> p_expected) OR (p_mode = 'exists' AND v_current = 0) THEN
    RETURN QUERY SELECT false, v_current, v_last, NULL::text;
    RETURN;
  END IF;
  IF v_count = 0 THEN
    RETURN QUERY SELECT true, v_current, v_last, NULL::text;
    RETURN;
  END IF;

  INSERT INTO events (position, event_id, stream_id, version, type, data, metadata, occurred_at)
  SELECT v_last + t.ord, t.x->>'eventId', p_stream, v_current + t.ord::integer, t.x->>'type',
         t.x->'data', t.x->'metadata',
         'epoch'::timestamptz + ((t.x->>'occurredAt')::bigint * interval '1 millisecond')
  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(x, ord);

  UPDATE position_counter SET last_position = v_last + v_count WHERE singleton;
  RETURN QUERY SELECT true, v_current + v_count, v_last + v_count, NULL::text;
END
$$;
