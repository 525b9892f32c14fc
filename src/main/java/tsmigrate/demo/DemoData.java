package tsmigrate.demo;

import java.sql.Connection;
import java.sql.SQLException;

import tsmigrate.db.Pg;

/**
 * A realistic time-series schema for the demo: devices, their metrics (the big table), events with an
 * identity key, monthly-partitioned meter readings, a quoted-name schema, and a materialized view.
 * Everything is generated inside the server, so filling millions of rows takes seconds.
 */
public final class DemoData {
    private DemoData() {
    }

    public static void fill(Connection c, long metricsRows) throws SQLException {
        long n = Math.max(1000, metricsRows);
        long side = Math.max(100, n / 4);
        Pg.exec(c, """
                CREATE TYPE public.device_kind AS ENUM ('sensor', 'gateway', 'meter');
                CREATE TABLE public.devices (
                    id serial PRIMARY KEY,
                    name text NOT NULL UNIQUE,
                    kind public.device_kind NOT NULL,
                    installed_on date NOT NULL,
                    attributes jsonb
                );
                INSERT INTO public.devices (name, kind, installed_on, attributes)
                SELECT 'device-' || i, (ARRAY['sensor', 'gateway', 'meter']::public.device_kind[])[1 + i % 3],
                       DATE '2024-01-01' + (i % 600), jsonb_build_object('rack', i % 40, 'firmware', '1.' || (i % 7))
                FROM generate_series(1, 500) i;

                CREATE TABLE public.metrics (
                    time timestamptz NOT NULL,
                    device_id int NOT NULL REFERENCES public.devices (id),
                    cpu double precision,
                    temperature double precision,
                    payload jsonb,
                    note text
                );
                """);
        // 30 days of readings, evenly spaced; a few NULLs and odd strings to keep the CSV honest.
        Pg.exec(c, "INSERT INTO public.metrics SELECT TIMESTAMPTZ '2026-10-01 00:00:00+00' + i * (INTERVAL '30 days' / " + n + "),"
                + " 1 + i % 500, (i % 1000) / 10.0, CASE WHEN i % 97 = 0 THEN NULL ELSE 20 + sin(i / 1000.0) * 5 END,"
                + " jsonb_build_object('seq', i, 'ok', i % 13 <> 0),"
                + " CASE i % 5000 WHEN 0 THEN 'comma, \"quote\" and newline\n here' WHEN 1 THEN '' ELSE NULL END"
                + " FROM generate_series(0, " + (n - 1) + ") i");
        Pg.exec(c, """
                CREATE INDEX metrics_time_idx ON public.metrics (time);
                CREATE INDEX metrics_device_time_idx ON public.metrics (device_id, time DESC);

                CREATE TABLE public.events (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    at timestamptz NOT NULL,
                    device_id int NOT NULL,
                    level text NOT NULL,
                    message text
                );
                CREATE INDEX events_at_idx ON public.events (at);

                CREATE TABLE public.readings (
                    time timestamptz NOT NULL,
                    meter_id int NOT NULL,
                    kwh numeric(12, 3) NOT NULL
                ) PARTITION BY RANGE (time);
                CREATE TABLE public.readings_2026_10 PARTITION OF public.readings
                    FOR VALUES FROM ('2026-10-01 00:00:00+00') TO ('2026-11-01 00:00:00+00');
                CREATE TABLE public.readings_2026_11 PARTITION OF public.readings
                    FOR VALUES FROM ('2026-11-01 00:00:00+00') TO ('2026-12-01 00:00:00+00');
                CREATE INDEX readings_time_idx ON public.readings (time);

                CREATE SCHEMA "Sales Ops";
                CREATE TABLE "Sales Ops"."Orders Log" (
                    "Order Id" bigserial PRIMARY KEY,
                    "Created At" timestamptz NOT NULL,
                    customer text NOT NULL,
                    amount numeric(10, 2) NOT NULL
                );
                """);
        Pg.exec(c, "INSERT INTO public.events (at, device_id, level, message) SELECT TIMESTAMPTZ '2026-10-01 00:00:00+00'"
                + " + i * (INTERVAL '30 days' / " + side + "), 1 + i % 500, (ARRAY['info', 'warn', 'error'])[1 + i % 3],"
                + " 'event ' || i FROM generate_series(0, " + (side - 1) + ") i");
        Pg.exec(c, "INSERT INTO public.readings SELECT TIMESTAMPTZ '2026-10-15 00:00:00+00' + i * (INTERVAL '30 days' / " + side + "),"
                + " 1 + i % 200, round((i % 10000) / 7.0, 3) FROM generate_series(0, " + (side - 1) + ") i");
        Pg.exec(c, """
                INSERT INTO "Sales Ops"."Orders Log" ("Created At", customer, amount)
                SELECT TIMESTAMPTZ '2026-10-01 00:00:00+00' + i * INTERVAL '4 minutes', 'Customer ' || (i % 300), (i % 997) * 1.25
                FROM generate_series(1, 10000) i;
                CREATE MATERIALIZED VIEW public.daily_device_stats AS
                    SELECT device_id, (time AT TIME ZONE 'UTC')::date AS day, count(*) AS samples, round(avg(cpu::numeric), 4) AS avg_cpu
                    FROM public.metrics GROUP BY 1, 2;
                ANALYZE;
                """);
    }
}
