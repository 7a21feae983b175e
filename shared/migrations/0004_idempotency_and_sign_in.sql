-- Contract 1.1: idempotent creates and throttled sign-in (contract/DECISIONS.md, "Idempotent
-- creates", "Throttled sign-in"). The rules live here as functions, so the four implementations
-- call the same logic instead of writing it four times, and state lives in PostgreSQL, so it
-- holds across processes and implementations.

-- ------------------------------------------------------------------------ idempotency keys

CREATE TABLE idempotency_keys (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint text NOT NULL,
    status      smallint NOT NULL CHECK (status BETWEEN 200 AND 299),
    body        bytea NOT NULL,            -- the exact bytes of the first response
    location    text,
    etag        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- Called in the request's transaction, after validation. Takes a transaction-level advisory
-- lock on (user, key) without waiting: 'in_flight' when another transaction holds it.
-- Otherwise 'replay' with the stored response (same fingerprint), 'reused' (another
-- fingerprint), or 'new' — then the caller runs the request and, on a 2xx, calls
-- idempotency_finish() before committing, still holding the lock.
CREATE FUNCTION idempotency_begin(p_user_id uuid, p_key text, p_fingerprint text,
                                  p_ttl interval DEFAULT interval '24 hours')
RETURNS TABLE (state text, status smallint, body bytea, location text, etag text)
LANGUAGE plpgsql AS $$
DECLARE
    stored idempotency_keys%ROWTYPE;
BEGIN
    IF NOT pg_try_advisory_xact_lock(
            hashtextextended('quartet-idempotency:' || p_user_id::text || ':' || p_key, 0)) THEN
        RETURN QUERY SELECT 'in_flight'::text, NULL::smallint, NULL::bytea, NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO stored FROM idempotency_keys k
    WHERE k.user_id = p_user_id AND k.key = p_key AND k.created_at > now() - p_ttl;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'new'::text, NULL::smallint, NULL::bytea, NULL::text, NULL::text;
    ELSIF stored.fingerprint <> p_fingerprint THEN
        RETURN QUERY SELECT 'reused'::text, NULL::smallint, NULL::bytea, NULL::text, NULL::text;
    ELSE
        RETURN QUERY SELECT 'replay'::text, stored.status, stored.body, stored.location, stored.etag;
    END IF;
END $$;

-- Stores the first response (an expired record of the same key is replaced) and, now and
-- then, forgets records past their time.
CREATE FUNCTION idempotency_finish(p_user_id uuid, p_key text, p_fingerprint text,
                                   p_status smallint, p_body bytea, p_location text, p_etag text,
                                   p_ttl interval DEFAULT interval '24 hours')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO idempotency_keys (user_id, key, fingerprint, status, body, location, etag)
    VALUES (p_user_id, p_key, p_fingerprint, p_status, p_body, p_location, p_etag)
    ON CONFLICT (user_id, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, body = EXCLUDED.body,
        location = EXCLUDED.location, etag = EXCLUDED.etag, created_at = now();
    IF random() < 0.01 THEN
        DELETE FROM idempotency_keys WHERE created_at < now() - p_ttl;
    END IF;
END $$;

-- ------------------------------------------------------------------------ sign-in failures

CREATE TABLE sign_in_failures (
    email     text NOT NULL,
    address   inet NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_pair_idx ON sign_in_failures (email, address, failed_at);
CREATE INDEX sign_in_failures_address_idx ON sign_in_failures (address, failed_at);

-- Seconds until a sign-in of `p_email` from `p_address` is allowed again; 0 when it is now.
-- With at least p_max failures in the window, the attempt is allowed again when the p_max-th
-- most recent of them leaves the window (a sliding window).
CREATE FUNCTION sign_in_retry_after(p_email text, p_address inet, p_window_seconds integer,
                                    p_max_pair integer, p_max_address integer)
RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT greatest(
        coalesce((SELECT ceil(extract(epoch FROM f.failed_at + make_interval(secs => p_window_seconds) - now()))::integer
                  FROM sign_in_failures f
                  WHERE f.email = p_email AND f.address = p_address
                    AND f.failed_at > now() - make_interval(secs => p_window_seconds)
                  ORDER BY f.failed_at DESC OFFSET p_max_pair - 1 LIMIT 1), 0),
        coalesce((SELECT ceil(extract(epoch FROM f.failed_at + make_interval(secs => p_window_seconds) - now()))::integer
                  FROM sign_in_failures f
                  WHERE f.address = p_address
                    AND f.failed_at > now() - make_interval(secs => p_window_seconds)
                  ORDER BY f.failed_at DESC OFFSET p_max_address - 1 LIMIT 1), 0))
$$;

CREATE FUNCTION sign_in_failed(p_email text, p_address inet, p_window_seconds integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sign_in_failures (email, address) VALUES (p_email, p_address);
    IF random() < 0.01 THEN  -- now and then, forget what no window can see any more
        DELETE FROM sign_in_failures
        WHERE failed_at < now() - make_interval(secs => p_window_seconds);
    END IF;
END $$;

CREATE FUNCTION sign_in_succeeded(p_email text, p_address inet)
RETURNS void LANGUAGE sql AS $$
    DELETE FROM sign_in_failures WHERE email = p_email AND address = p_address
$$;
