"""Entry points for the two server processes, started by bot.launcher.

Both run in-process (not through the `rasa` CLI) so that the JWT secret is passed as an
argument from the settings and never appears on a command line, where `ps` would show it.
Each builds its parts through bot/bootstrap.py, from one Settings read at start.

    python -m bot.servers rasa      # Rasa server: REST channel + JWT-protected HTTP API
    python -m bot.servers actions   # rasa_sdk action server
"""

from __future__ import annotations

import logging
import os
import sys

from bot.bootstrap import Services, services
from bot.sanic_compat import allow_websockets_on_python_311
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)


def _configure_logging(parts: Services) -> None:
    logging.basicConfig(
        level=parts.settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    from bot.privacy import log_filter

    log_filter.install(parts.redactor)


def use_one_thread_per_model_call() -> None:
    """DIET's graph for one message is a few small matrix products: spreading each over
    TensorFlow's thread pools cost more than it saved (issue 21: DIET 0.3 ms faster per
    message on one thread, and the other core stays free for the action server). Set
    before TensorFlow starts; a value in the environment wins."""
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def keep_what_is_loaded_out_of_garbage_collection(app) -> None:
    """Python's cycle collector walked everything loaded (the model, spaCy's tables:
    millions of objects) again and again under load. What exists once the server has
    started lives as long as the server, so it is moved out of the collector's sight
    (gc.freeze): issue 21, the Rasa server ~7 % less CPU per message and a shorter tail."""

    async def freeze(*_args) -> None:
        import gc

        gc.collect()
        gc.freeze()

    app.register_listener(freeze, "after_server_start")


def run_rasa_server() -> None:
    use_one_thread_per_model_call()
    parts = services()
    settings = parts.settings
    from bot.store.several_servers import refuse_an_unsafe_set_up, use_the_configured_stores

    refuse_an_unsafe_set_up(settings)  # before the model loads: fail in a second, not minutes
    settings.export_for_rasa()
    for directory in settings.sqlite_directories():
        directory.mkdir(parents=True, exist_ok=True)
    import rasa.core.run
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # What `rasa run` sets up, minus telemetry and error reporting to third parties.
    # Without configure_structlog, Rasa's debug events (with message text) reach stdout.
    level = logging.getLevelName(settings.log_level)
    _configure_logging(parts)
    configure_logging_and_warnings(level)
    configure_structlog(level)
    from bot.privacy import log_filter

    log_filter.install(parts.redactor)  # again: Rasa's set-up may have added handlers
    log_filter.keep_rasa_structlog_free_of_message_text()
    if not settings.rasa_jwt_secret:
        raise SystemExit("RASA_JWT_SECRET is empty: run `make env` or set it in .env")
    from bot import rasa_hot_paths

    rasa_hot_paths.install()  # the same work per message, cheaper (issue 21)
    _after_creating(
        rasa.core.run,
        "configure_app",
        lambda app: app.register_listener(rasa_hot_paths.close_kept_sessions, "after_server_stop"),
    )
    _after_creating(rasa.core.run, "configure_app", keep_what_is_loaded_out_of_garbage_collection)
    require_expiring_tokens(settings.rasa_jwt_secret)
    allow_websockets_on_python_311()  # the web widget's socket (bot/sanic_compat.py)
    answer_malformed_input_with_400(rasa.core.run, settings.max_message_chars)
    watch_the_event_loop(rasa.core.run, "configure_app", "rasa", settings.loop_stall_file)
    from bot.nlu.long_messages import classify_the_beginning_of_long_messages

    classify_the_beginning_of_long_messages()  # DIET on 4 000 tokens held the loop
    from bot.nlu.clauses import classify_each_question_with_the_message

    classify_each_question_with_the_message()  # no call back from the action server
    _after_creating(rasa.core.run, "configure_app", answer_health_and_readiness_of_rasa)
    from bot.channels.staff_typing import add_staff_typing_route

    # A handler's typing, shown in the relative's channel (the dashboard calls it, with the JWT).
    _after_creating(rasa.core.run, "configure_app", add_staff_typing_route)
    endpoints = AvailableEndpoints.read_endpoints(str(PROJECT_ROOT / "endpoints.yml"))
    use_the_configured_stores(endpoints, settings)
    rasa.core.run.serve_application(
        model_path=str(settings.model_path),
        interface=settings.rasa_host,
        port=settings.rasa_port,
        credentials=str(PROJECT_ROOT / "credentials.yml"),
        enable_api=True,
        jwt_secret=settings.rasa_jwt_secret,
        jwt_method="HS256",
        endpoints=endpoints,
    )


def _innermost(store):
    """Rasa wraps the tracker store (fail-safe, awaitable): the store that holds the data."""
    while hasattr(store, "_tracker_store"):
        store = store._tracker_store
    return store


def _store_check(store):
    from bot.health import redis_reachable, sql_reachable

    if hasattr(store, "engine"):
        return sql_reachable(store.engine)
    if hasattr(store, "red"):
        return redis_reachable(store.red)
    return None


def answer_health_and_readiness_of_rasa(app) -> None:
    """/ready fails while the model loads or the tracker store is unreachable; a Redis
    lock store that is down is reported as degraded (bot/health.py)."""
    from bot.health import add_health_routes, holds

    def agent():
        return getattr(app.ctx, "agent", None)

    def required(_app) -> dict:
        checks = {"model": holds(lambda: agent() is not None and agent().is_ready())}
        tracker_store = _store_check(_innermost(getattr(agent(), "tracker_store", None)))
        if tracker_store is not None:
            checks["tracker_store"] = tracker_store
        return checks

    def optional(_app) -> dict:
        lock_store = _store_check(getattr(agent(), "lock_store", None))
        return {"lock_store": lock_store} if lock_store is not None else {}

    add_health_routes(app, required, optional)


def require_expiring_tokens(secret: str) -> None:
    """Rasa's HTTP API accepts a JWT without `exp` forever (sanic-jwt checks `exp` only when
    it is there): every bearer token must carry one, and an expired one is refused, with
    401, before Rasa's own check (issue 17)."""
    import jwt
    import rasa.core.run
    from sanic import response

    def require_exp(app) -> None:
        @app.middleware("request")
        async def refuse_tokens_without_exp(request):
            authorization = request.headers.get("Authorization") or ""
            if not authorization.lower().startswith("bearer "):
                return None
            try:
                jwt.decode(
                    authorization[7:].strip(),
                    secret,
                    algorithms=["HS256"],
                    options={"require": ["exp"]},
                )
            except jwt.PyJWTError:
                return response.json(
                    {"error": "The token must carry an expiry (exp) and be unexpired."},
                    status=401,
                )
            return None

    _after_creating(rasa.core.run, "configure_app", require_exp)


def answer_malformed_input_with_400(run_module, max_message_chars: int) -> None:
    """/model/parse bodies, engine.io packets and websocket frames that Rasa met with a
    500 or a hang (bot/rasa_guards.py, issue 17)."""
    from bot.rasa_guards import (
        answer_failed_websocket_handshakes_with_400,
        answer_unknown_engineio_packets_at_once,
        close_websockets_that_send_garbage,
        refuse_malformed_parse_requests,
        refuse_websocket_connects_without_an_upgrade,
    )

    answer_unknown_engineio_packets_at_once()
    close_websockets_that_send_garbage()
    refuse_websocket_connects_without_an_upgrade()
    answer_failed_websocket_handshakes_with_400()
    _after_creating(
        run_module,
        "configure_app",
        lambda app: refuse_malformed_parse_requests(app, max_message_chars),
    )


def run_action_server() -> None:
    parts = services()
    settings = parts.settings
    settings.export_for_rasa()
    # spaCy's machine-learning layer (thinc) imports TensorFlow whenever it is installed,
    # which costs the action server about half a gigabyte; nothing here uses it.
    sys.modules.setdefault("tensorflow", None)
    from rasa_sdk import endpoint

    from bot.contacts import check_at_startup

    _configure_logging(parts)
    check_at_startup(settings.contacts_file, settings.contacts_max_age_days)
    prepare_risk_screening(parts)
    answer_what_is_not_an_action_call(endpoint, settings.max_request_bytes)
    _after_creating(endpoint, "create_app", lambda app: answer_readiness_of_actions(app, parts))
    watch_the_event_loop(endpoint, "create_app", "actions", settings.loop_stall_file)
    _after_creating(endpoint, "create_app", keep_what_is_loaded_out_of_garbage_collection)
    endpoint.run("actions", port=settings.action_server_port, cors_origins=[])


def answer_what_is_not_an_action_call(endpoint, max_request_bytes: int) -> None:
    """rasa_sdk answers every exception with a 500 that echoes the request body: malformed
    calls get a 400, oversized bodies a 413, and no answer carries the body (issue 17;
    bot/action_calls.py)."""
    from bot.action_calls import guard_action_server

    _after_creating(endpoint, "create_app", lambda app: guard_action_server(app, max_request_bytes))


def answer_readiness_of_actions(app, parts: Services) -> None:
    """rasa_sdk answers /health; /ready adds the risk screening (loaded before the server
    listens) and reports the escalation store, without which escalations wait in the
    retry file, as degraded."""
    from bot.health import add_health_routes, holds, sql_reachable

    add_health_routes(
        app,
        lambda _: {"risk_screening": holds(lambda: "screen" in vars(parts))},
        lambda _: {"escalation_store": sql_reachable(parts.escalation_engine)},
        with_health=False,
    )


def watch_the_event_loop(module, factory: str, name: str, stall_file: str) -> None:
    """With LOOP_STALL_FILE set (the hostile phase of `make bench`), each server records the
    longest time its event loop was held (bot/loop_monitor.py)."""
    if not stall_file:
        return
    from bot.loop_monitor import watch_app

    path = f"{stall_file}.{name}.json"
    _after_creating(module, factory, lambda app: watch_app(app, path, name))


def _after_creating(module, factory: str, configure) -> None:
    """Rasa and rasa_sdk build their Sanic apps inside their own run functions: the
    module's app `factory` is replaced by one that `configure`s each app it builds."""
    build = getattr(module, factory)

    def build_and_configure(*args, **kwargs):
        app = build(*args, **kwargs)
        configure(app)
        return app

    setattr(module, factory, build_and_configure)


def prepare_risk_screening(parts: Services) -> None:
    """Migrates the escalation store and loads the screening before the first message.

    A database that cannot be reached is logged, not fatal: the relative still gets the
    safety answers, and escalations wait in the retry file until the database is back and
    `make migrate` (or a restart) has created the tables."""
    from bot.store.engine import migrate

    settings = parts.settings
    if not settings.pseudonym_key:
        logger.error("PSEUDONYM_KEY is empty: escalations cannot be stored. Run `make env`.")
    try:
        migrate(settings.escalation_database_url)
        logger.info("Escalation store ready")
        _store_waiting_escalations(parts)
    except Exception as error:
        logger.error(
            "Escalation store not reachable at start-up (%s): escalations will be retried",
            type(error).__name__,
        )
    _ = parts.screen  # loads the spaCy pipeline, patterns and risk model now, not mid-conversation


def _store_waiting_escalations(parts: Services) -> None:
    """Escalations a previous run could not store are stored before the first message."""
    import asyncio

    stored = asyncio.run(parts.escalator.retry_pending())
    if stored:
        logger.info("Stored %d escalation(s) left over from an earlier failure", stored)


def main(argv: list[str]) -> int:
    servers = {"rasa": run_rasa_server, "actions": run_action_server}
    if len(argv) != 2 or argv[1] not in servers:
        print(f"usage: python -m bot.servers {{{'|'.join(servers)}}}", file=sys.stderr)
        return 2
    servers[argv[1]]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
