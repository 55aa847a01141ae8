"""Generate `grafana/dashboards/realtime_user_analytics.json` with grafana-foundation-sdk.

Edit the panels here, then run `.venv/bin/python grafana/build_dashboard.py`; tests/grafana checks that the
committed JSON equals what this script generates and runs every panel's SQL against a loaded warehouse.
Panels read `marts.*` and `ops.*` (docs/architecture.md); only "Latest Users" reads `public.incoming_users`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import barchart, common, dashboard, piechart, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models import piechart as piechart_models

DASHBOARD_UID = "realtime_users_001"
DATASOURCE_TYPE = "grafana-postgresql-datasource"
DATASOURCE_UID = "userpipe-postgres"
OUTPUT = Path(__file__).resolve().parent / "dashboards" / "realtime_user_analytics.json"

DATASOURCE = models.DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)
RUN_STATUS_COLOURS = {"success": "green", "running": "blue", "failed": "red", "interrupted": "orange",
                      "skipped": "text"}  # userpipe/runs.py STATUSES
FAILED_CHECK_STATUSES = "('fail', 'error')"  # quality/results.py FAILING_STATUSES
# One row of the per-minute mart whatever the rate (counting incoming_users' last 60 s read every user of it).
USERS_LAST_MINUTE = (
    "select coalesce((\n"
    "    select users_ingested from marts.ingestion_per_minute\n"
    "    where minute = date_trunc('minute', now() at time zone 'UTC') - interval '1 minute'\n"
    "), 0) as users_last_minute"
)


class SqlQuery(cogbuilder.Builder[cogvariants.Dataquery]):
    """A raw-SQL target of the PostgreSQL datasource (the SDK ships no builder for it)."""

    def __init__(self, sql: str, *, time_series: bool = False) -> None:
        self.sql = sql
        self.format = "time_series" if time_series else "table"

    def build(self) -> cogvariants.Dataquery:
        return UnknownDataquery({
            "refId": "A",
            "datasource": DATASOURCE.to_json(),
            "editorMode": "code",
            "format": self.format,
            "rawQuery": True,
            "rawSql": self.sql,
        })


def _grid(x: int, y: int, w: int, h: int) -> models.GridPos:
    return models.GridPos(x=x, y=y, w=w, h=h)


def _thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (dashboard.ThresholdsConfig().mode(models.ThresholdsMode.ABSOLUTE)
            .steps([models.Threshold(value=value, color=colour) for value, colour in steps]))


def _stat(title: str, sql: str, grid: models.GridPos, *, unit: str = "short", decimals: int | None = None,
          thresholds: dashboard.ThresholdsConfig | None = None, description: str = "") -> stat.Panel:
    panel = (stat.Panel().title(title).description(description).datasource(DATASOURCE).grid_pos(grid)
             .with_target(SqlQuery(sql)).unit(unit)
             .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
             .graph_mode(common_models.BigValueGraphMode.NONE)
             .color_mode(common_models.BigValueColorMode.VALUE)
             .thresholds(thresholds or _thresholds((None, "blue"))))
    if decimals is not None:
        panel = panel.decimals(decimals)
    return panel


def _kpi_stats(y: int) -> list[cogbuilder.Builder[models.Panel]]:
    return [
        _stat("Total Users", "select total_users from marts.kpis", _grid(0, y, 6, 4),
              description="Users landed so far (marts.kpis)."),
        _stat("Users Last Minute", USERS_LAST_MINUTE, _grid(6, y, 6, 4),
              thresholds=_thresholds((None, "orange"), (1, "green")),
              description="Users landed in the last full minute (one row of marts.ingestion_per_minute)."),
        _stat("Unique Countries", "select unique_countries from marts.kpis", _grid(12, y, 6, 4),
              description="Distinct countries among all users."),
        _stat("Average Age", "select average_age from marts.kpis", _grid(18, y, 6, 4), decimals=1,
              description="Mean age of all users."),
    ]


def _ingestion_rate(y: int) -> timeseries.Panel:
    sql = (
        "select $__timeGroupAlias(minute, 1m), sum(users_ingested) as \"users per minute\"\n"
        "from marts.ingestion_per_minute\n"
        "where $__timeFilter(minute)\n"
        "group by 1\n"
        "order by 1"
    )
    return (timeseries.Panel().title("Real-time Ingestion Rate").datasource(DATASOURCE).grid_pos(_grid(0, y, 12, 9))
            .description("Users landed per minute (marts.ingestion_per_minute).")
            .with_target(SqlQuery(sql, time_series=True)).unit("short").min(0)
            .draw_style(common_models.GraphDrawStyle.BARS).fill_opacity(60)
            .legend(common.VizLegendOptions().show_legend(False)
                    .display_mode(common_models.LegendDisplayMode.LIST)
                    .placement(common_models.LegendPlacement.BOTTOM)))


def _pie(title: str, sql: str, grid: models.GridPos, pie_type: piechart_models.PieChartType,
         description: str) -> piechart.Panel:
    return (piechart.Panel().title(title).description(description).datasource(DATASOURCE).grid_pos(grid)
            .with_target(SqlQuery(sql)).pie_type(pie_type).unit("short")
            .reduce_options(common.ReduceDataOptions().values(True).calcs(["lastNotNull"]).fields(""))
            .display_labels([piechart_models.PieChartLabels.PERCENT])
            .legend(piechart.PieChartLegendOptions().show_legend(True)
                    .display_mode(common_models.LegendDisplayMode.TABLE)
                    .placement(common_models.LegendPlacement.RIGHT)
                    .values([piechart_models.PieChartLegendValues.VALUE])))


def _distributions(y: int) -> list[cogbuilder.Builder[models.Panel]]:
    return [
        _pie("Gender Distribution", "select gender, user_count from marts.users_by_gender order by gender",
             _grid(12, y, 6, 9), piechart_models.PieChartType.DONUT, "Users by gender (marts.users_by_gender)."),
        _pie("Top 10 Countries",
             "select country, user_count from marts.users_by_country order by user_count desc, country limit 10",
             _grid(18, y, 6, 9), piechart_models.PieChartType.PIE, "Most common countries (marts.users_by_country)."),
    ]


def _latest_users(y: int) -> table.Panel:
    sql = (
        "select picture_thumbnail as picture, first_name || ' ' || last_name as name, email, gender, age,\n"
        "       city, country, nationality, created_at\n"
        "from public.incoming_users\n"
        "order by created_at desc, user_id\n"
        "limit 50"
    )
    image = models.DynamicConfigValue(id_val="custom.cellOptions",
                                      value=common_models.TableImageCellOptions(alt="user picture"))
    return (table.Panel().title("Latest Users").datasource(DATASOURCE).grid_pos(_grid(0, y, 16, 12))
            .description("The 50 most recent users, with their pictures (public.incoming_users, read in the "
                         "order of its index idx_incoming_users_created_at_user_id: 50 rows, however many "
                         "users share one landing time).")
            .with_target(SqlQuery(sql)).cell_height(common_models.TableCellHeight.MD)
            .override_by_name("picture", [image, models.DynamicConfigValue(id_val="custom.width", value=64)])
            .override_by_name("created_at", [models.DynamicConfigValue(id_val="unit", value="dateTimeAsIso")]))


def _nationality(y: int) -> table.Panel:
    sql = (
        "select nationality, user_count, round(average_age::numeric, 1) as average_age\n"
        "from marts.users_by_nationality\n"
        "order by user_count desc, nationality"
    )
    return (table.Panel().title("Users by Nationality").datasource(DATASOURCE).grid_pos(_grid(16, y, 8, 12))
            .description("Users and mean age per nationality code (marts.users_by_nationality).")
            .with_target(SqlQuery(sql)))


def _age_distribution(y: int) -> barchart.Panel:
    sql = "select age_band, user_count from marts.users_by_age_band order by band_order"
    return (barchart.Panel().title("Age Distribution").datasource(DATASOURCE).grid_pos(_grid(0, y, 24, 8))
            .description("Users per age band (marts.users_by_age_band).")
            .with_target(SqlQuery(sql)).x_field("age_band").unit("short").min(0)
            .show_value(common_models.VisibilityMode.AUTO)
            .legend(common.VizLegendOptions().show_legend(False)
                    .display_mode(common_models.LegendDisplayMode.LIST)
                    .placement(common_models.LegendPlacement.BOTTOM)))


def _pipeline_health(y: int) -> list[cogbuilder.Builder[models.Panel]]:
    status_map = models.ValueMap(options={
        status: models.ValueMappingResult(text=status, color=colour, index=index)
        for index, (status, colour) in enumerate(RUN_STATUS_COLOURS.items())
    })
    last_status = (_stat("Last Cycle Status",
                         "select status from ops.pipeline_runs order by started_at desc limit 1",
                         _grid(0, y, 4, 4), unit="none",
                         description="Status of the latest pipeline cycle (ops.pipeline_runs).")
                   .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False).fields("/.*/"))
                   .mappings([status_map]))
    durations = (
        "select started_at as time, ingest_seconds as ingest, transform_seconds as transform,\n"
        "       check_seconds as checks\n"
        "from ops.pipeline_runs\n"
        "where $__timeFilter(started_at) and ended_at is not null\n"
        "order by 1"
    )
    failed_checks = (
        "select r.checked_at, r.check_name, r.source, r.status, r.failing_rows, r.observed_value, r.run_id\n"
        "from ops.check_results r\n"
        f"where r.status in {FAILED_CHECK_STATUSES} and $__timeFilter(r.checked_at)\n"
        "order by r.checked_at desc, r.check_name\n"
        "limit 100"
    )
    return [
        last_status,
        _stat("Last Cycle Duration",
              "select extract(epoch from ended_at - started_at) as duration_seconds\n"
              "from ops.pipeline_runs where ended_at is not null order by started_at desc limit 1",
              _grid(4, y, 4, 4), unit="s", decimals=1,
              thresholds=_thresholds((None, "green"), (30, "orange"), (60, "red")),
              description="Wall time of the latest finished cycle."),
        _stat("Freshness Lag",
              "select extract(epoch from now() - last_landed_at) as freshness_lag_seconds from marts.kpis",
              _grid(8, y, 4, 4), unit="s", decimals=0,
              thresholds=_thresholds((None, "green"), (120, "orange"), (300, "red")),
              description="Time since the newest user landed (marts.kpis.last_landed_at)."),
        _stat("Failed Checks (last cycle)",
              "select count(*) as failed_checks from ops.check_results\n"
              f"where status in {FAILED_CHECK_STATUSES}\n"
              "  and run_id = (select run_id from ops.pipeline_runs order by started_at desc limit 1)",
              _grid(12, y, 4, 4), thresholds=_thresholds((None, "green"), (1, "red")),
              description="dbt tests and GX expectations that did not pass in the latest cycle."),
        (timeseries.Panel().title("Cycle Durations").datasource(DATASOURCE).grid_pos(_grid(16, y, 8, 8))
         .description("Seconds spent per step in each cycle (ops.pipeline_runs).")
         .with_target(SqlQuery(durations, time_series=True)).unit("s").min(0)
         .draw_style(common_models.GraphDrawStyle.BARS).fill_opacity(70)
         .stacking(common.StackingConfig().mode(common_models.StackingMode.NORMAL))),
        (table.Panel().title("Failed Checks").datasource(DATASOURCE).grid_pos(_grid(0, y + 4, 16, 8))
         .description("Checks that did not pass in the time range (ops.check_results).")
         .with_target(SqlQuery(failed_checks))
         .override_by_name("checked_at", [models.DynamicConfigValue(id_val="unit", value="dateTimeAsIso")])),
        _stat("Quarantined users",
              "select count(distinct user_id) as quarantined_users from ops.quarantined_users",
              _grid(16, y + 8, 8, 4), thresholds=_thresholds((None, "green"), (1, "orange")),
              description="Users kept out of incoming_users and the marts because their JSON breaks a "
                          "quarantine rule; they stay in raw.users (ops.quarantined_users, one row per rule)."),
    ]


def _live_stream(y: int) -> list[cogbuilder.Builder[models.Panel]]:
    """`userpipe stream`: users per second, the live total, the stream's lag, the newest users (built or not)."""
    per_second = (
        "select $__timeGroupAlias(second, 1s), sum(users_ingested) as \"users per second\"\n"
        "from marts.ingestion_per_second_live\n"
        "where second > (now() at time zone 'UTC') - interval '5 minutes' and $__timeFilter(second)\n"
        "group by 1\n"
        "order by 1"
    )
    latest = (
        "select picture_thumbnail as picture, first_name || ' ' || last_name as name, email, gender, age,\n"
        "       city, country, nationality, created_at\n"
        "from marts.latest_users_live\n"
        "order by created_at desc, user_id\n"
        "limit 20"
    )
    image = models.DynamicConfigValue(id_val="custom.cellOptions",
                                      value=common_models.TableImageCellOptions(alt="user picture"))
    return [
        (timeseries.Panel().title("Users per Second (last 5 minutes)").datasource(DATASOURCE)
         .grid_pos(_grid(0, y, 12, 8))
         .description("Users landed per second, those not built into incoming_users yet included "
                      "(marts.ingestion_per_second_live: a row per second).")
         .with_target(SqlQuery(per_second, time_series=True)).unit("short").min(0)
         .draw_style(common_models.GraphDrawStyle.BARS).fill_opacity(60)
         .legend(common.VizLegendOptions().show_legend(False)
                 .display_mode(common_models.LegendDisplayMode.LIST)
                 .placement(common_models.LegendPlacement.BOTTOM))),
        _stat("Live Total Users", "select total_users from marts.kpis_live", _grid(12, y, 4, 4),
              description="Users landed so far, streamed users within a second of their commit (marts.kpis_live)."),
        _stat("Stream Lag",
              "select extract(epoch from committed_at - last_emitted_at) as lag_seconds\n"
              "from ops.stream_state order by committed_at desc limit 1",
              _grid(16, y, 4, 4), unit="s", decimals=2,
              thresholds=_thresholds((None, "green"), (0.5, "orange"), (1, "red")),
              description="From the feed's emit time to the commit in raw.users, for the newest commit of the "
                          "latest stream (ops.stream_state)."),
        _stat("Last Stream Commit",
              "select extract(epoch from now() - committed_at) as seconds_ago\n"
              "from ops.stream_state order by committed_at desc limit 1",
              _grid(20, y, 4, 4), unit="s", decimals=0,
              thresholds=_thresholds((None, "green"), (10, "orange"), (60, "red")),
              description="Seconds since `userpipe stream` last committed users (ops.stream_state)."),
        _stat("Streamed Users", "select coalesce(sum(users_new), 0) as streamed_users from ops.stream_state",
              _grid(12, y + 4, 12, 4),
              description="Users new to raw.users that streams landed (ops.stream_state.users_new)."),
        (table.Panel().title("Latest Users (live)").datasource(DATASOURCE).grid_pos(_grid(0, y + 8, 24, 10))
         .description("The 20 newest users, streamed users within a second of their commit "
                      "(marts.latest_users_live).")
         .with_target(SqlQuery(latest)).cell_height(common_models.TableCellHeight.MD)
         .override_by_name("picture", [image, models.DynamicConfigValue(id_val="custom.width", value=64)])
         .override_by_name("created_at", [models.DynamicConfigValue(id_val="unit", value="dateTimeAsIso")])),
    ]


def build() -> dict[str, Any]:
    """The dashboard as the JSON object Grafana's file provisioning loads."""
    board = (
        dashboard.Dashboard("Real-time User Analytics").uid(DASHBOARD_UID)
        .description("Synthetic users landing every minute: KPIs from the marts, latest users, pipeline health.")
        .tags(["userpipe", "realtime"]).refresh("5s").time("now-30m", "now").live_now(True)
        .timezone("browser").editable()
        .timepicker(dashboard.TimePicker().refresh_intervals(["1s", "5s", "10s", "30s", "1m", "5m"]))
    )
    panels: list[cogbuilder.Builder[models.Panel]] = [
        *_kpi_stats(0),
        _ingestion_rate(4),
        *_distributions(4),
        _latest_users(13),
        _nationality(13),
        _age_distribution(25),
    ]
    for panel_id, panel in enumerate(panels, start=1):
        board = board.with_panel(panel.id(panel_id))  # type: ignore[attr-defined]
    board = board.with_row(dashboard.Row("Pipeline health").id(len(panels) + 1).grid_pos(_grid(0, 33, 24, 1)))
    health = _pipeline_health(34)
    for panel_id, panel in enumerate(health, start=len(panels) + 2):
        board = board.with_panel(panel.id(panel_id))  # type: ignore[attr-defined]
    live_row_id = len(panels) + len(health) + 2
    board = board.with_row(dashboard.Row("Live stream").id(live_row_id).grid_pos(_grid(0, 46, 24, 1)))
    for panel_id, panel in enumerate(_live_stream(47), start=live_row_id + 1):
        board = board.with_panel(panel.id(panel_id))  # type: ignore[attr-defined]
    encoded: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return encoded


def render() -> str:
    """The dashboard JSON text, exactly as committed."""
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    """Write the dashboard file; `--check` only reports whether the committed file is up to date."""
    text = render()
    if "--check" in sys.argv[1:]:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run python grafana/build_dashboard.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
