"""`create_app(settings)` and its lifespan. Nothing happens at import time.

The lifespan opens, in order: the database (embedded PostgreSQL unless a URL is given),
migrations, the pool, the stores, the routing file (when set, watched for edits) and its
upstream clients, the providers and the MATRIZ orchestrator, the tick, the background runner;
and closes them in reverse (the runner first: its runs still need the rest).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from app.api.admin.drift import router as drift_router
from app.api.admin.router import router as admin_router
from app.api.admin.service import RoutingPreviewService
from app.api.chat.router import router as chat_router
from app.api.chat.service import ChatService
from app.api.conversations.router import router as conversations_router
from app.api.conversations.service import ConversationsService
from app.api.dreams.router import router as dreams_router
from app.api.dreams.service import DreamsService, Outward
from app.api.embeddings.router import router as embeddings_router
from app.api.embeddings.service import EmbeddingsService
from app.api.experience.router import router as experience_router
from app.api.health.router import router as health_router
from app.api.identity.accounts import AccountPolicy, AccountsService
from app.api.identity.accounts_router import router as accounts_router
from app.api.identity.login import LoginService
from app.api.identity.router import router as identity_router
from app.api.identity.service import IdentityService
from app.api.indexes.router import router as indexes_router
from app.api.indexes.service import IndexesService
from app.api.models.router import router as models_router
from app.api.models.service import ModelsService
from app.api.moderations.router import router as moderations_router
from app.api.moderations.service import ModerationsService
from app.api.responses.background import BackgroundResponses
from app.api.responses.compact import CompactService
from app.api.responses.router import router as responses_router
from app.api.responses.service import ResponsesService
from app.db.embedded import EmbeddedPostgres
from app.db.migrate import migrate
from app.db.pool import open_pool
from app.dreams.journal import Journal, Signals
from app.dreams.recall import Recall
from app.dreams.runner import DreamRunner
from app.embeddings.base import Embedder
from app.embeddings.hashing import HashingEmbedder
from app.embeddings.minilm import MiniLMEmbedder
from app.embeddings.minilm import available as minilm_available
from app.embeddings.registry import EmbeddingRegistry
from app.errors import install_error_handlers
from app.guardian.detectors.semantic import SemanticIndex
from app.guardian.enforcement import Enforcement
from app.guardian.engine import Guardian
from app.guardian.lanes import load_lanes
from app.guardian.memory_guard import PolicyGuard
from app.guardian.metrics import EnforcementMetrics
from app.guardian.reload import GuardianMetrics, PolicyReloader
from app.identity.api_keys import ApiKeyResolver, load_or_create_key
from app.identity.base import IdentityChain
from app.identity.keyring import load_settings_keyring
from app.identity.passwords import PasswordParams, Passwords
from app.identity.redis_throttle import RedisFailures
from app.identity.seal import Seal
from app.identity.throttle import AuthThrottle, FailureCounter, MemoryFailures, ThrottleLimits
from app.identity.tiers import load_tiers
from app.identity.tokens import LidResolver, LidTokens
from app.identity.totp import TotpSeal
from app.json import JSONResponse
from app.kv.base import KeyValueStore
from app.kv.memory import MemoryStore
from app.kv.redis_store import RedisStore
from app.matriz.breakthrough import BreakthroughDetector
from app.matriz.drift import DriftEngine, DriftLimits
from app.matriz.experience import ExperienceLog
from app.matriz.orchestrator import Orchestrator
from app.matriz.providers.builtin import BuiltinProvider
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.providers.upstream.provider import UpstreamProvider
from app.matriz.stages.action import ActionStage
from app.matriz.stages.attention import AttentionStage
from app.matriz.stages.intent import IntentStage
from app.matriz.stages.memory import MemoryStage
from app.matriz.stages.risk import RiskStage
from app.matriz.stages.thought import ThoughtStage
from app.matriz.tick import (
    AWARENESS_REPLAY,
    AwarenessEngine,
    Engine,
    InProcessSweepEngine,
    PeriodicJob,
    Tick,
)
from app.matriz.tools.match import ToolMatcher
from app.memory import compaction
from app.memory.consolidation import SLEEP_REPLAY, Consolidator, SleepSettings, guarded
from app.memory.conversations import ConversationMemory
from app.memory.retention import ExpirySweeper, load_retention
from app.middleware.register import register_middleware
from app.observability.logging import configure_logging
from app.observability.metrics import Metrics
from app.observability.tracing import make_tracer_provider
from app.openapi import install as install_openapi
from app.reliability.ratelimit import DEFAULT_PATH as DEFAULT_LIMITS
from app.reliability.ratelimit import Limiter, MemoryLimiter, load_limits
from app.reliability.redis_limiter import RedisLimiter
from app.reliability.runner import TaskRunner
from app.routing.reload import RoutingMetrics, RoutingReloader
from app.sessions.base import SessionLimits, SessionStore
from app.sessions.memory import MemorySessions
from app.sessions.redis_sessions import RedisSessions
from app.settings import Settings
from app.state import AppState

log = logging.getLogger("lukhas")

API_ROUTERS = (responses_router, conversations_router, chat_router, embeddings_router,
               moderations_router, indexes_router, dreams_router, models_router,
               identity_router, accounts_router, admin_router, experience_router, drift_router)
# The order requests are matched in: the busiest first (each route passed over costs ~18,000
# CPU instructions per request in FastAPI's matching), then the rest of the API, the probes,
# and FastAPI's own pages (/openapi.json, /docs, /redoc). The OpenAPI document keeps
# the order above, the probes first.
_MATCHED_FIRST = (chat_router, responses_router, embeddings_router, models_router)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: routers, middleware and error handlers, in an explicit order."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    tracer_provider = make_tracer_provider()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.lukhas = await _open(stack, settings, metrics, tracer_provider)
            # Everything allocated so far lives as long as the process: move it out of the
            # collector's generations, so full collections stop re-scanning it per request.
            gc.collect()
            gc.freeze()
            yield
            gc.unfreeze()
        tracer_provider.shutdown()

    app = FastAPI(
        title="LUKHAS façade", version="0.1.0", lifespan=lifespan,
        default_response_class=JSONResponse,
        description="An OpenAI-compatible API over the MATRIZ cognitive pipeline.",
        # FastAPI's own OpenTelemetry stays off: tracing goes through
        # opentelemetry-instrumentation-fastapi when an OTLP endpoint is set (see
        # middleware/register.py), and the check alone costs time on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False,
                   "operation_spans": False},
    )
    install_error_handlers(app)
    framework = list(app.router.routes)
    app.router.routes.clear()
    matched = [*_MATCHED_FIRST, *(r for r in API_ROUTERS if r not in _MATCHED_FIRST)]
    for router in matched:
        app.include_router(router, prefix="/v1")
    app.include_router(health_router)
    app.router.routes.extend(framework)
    register_middleware(app, settings, registry, tracer_provider)
    documented = [(health_router, ""), *((router, "/v1") for router in API_ROUTERS)]
    install_openapi(app, [prefix + route.path_format for router, prefix in documented
                          for route in router.routes if isinstance(route, APIRoute)])
    return app


async def _open(
    stack: AsyncExitStack, settings: Settings, metrics: Metrics,
    tracer_provider: TracerProvider,
) -> AppState:
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
    else:
        embedded = EmbeddedPostgres(settings.data_dir)
        url = embedded.start()
        stack.callback(embedded.stop)
    await migrate(url)
    pool = await open_pool(url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    stack.push_async_callback(pool.close)

    store = _open_store(settings)
    stack.push_async_callback(store.close)
    limiter: Limiter = (MemoryLimiter() if settings.redis_url is None
                        else RedisLimiter(settings.redis_url.get_secret_value()))
    stack.push_async_callback(limiter.close)
    session_limits = SessionLimits(settings.session_max_turns, settings.session_max_bytes,
                                   settings.session_ttl_seconds)
    sessions: SessionStore = (
        MemorySessions(session_limits) if settings.redis_url is None
        else RedisSessions(settings.redis_url.get_secret_value(), session_limits))
    stack.push_async_callback(sessions.close)
    tiers = load_tiers()
    # Upstream routing, when a file is set (an invalid one stops the start).
    routing = None
    if settings.routing_file is not None:
        routing = await stack.enter_async_context(RoutingReloader(
            settings.routing_file, RoutingMetrics(metrics.registry),
            interval_s=settings.routing_reload_seconds, tiers=set(tiers.scopes_by_tier)))
    tokens = LidTokens(load_settings_keyring(settings), tiers, store,
                       settings.lid_leeway_seconds, database=pool)
    keys = settings.api_key_list()
    if not keys:
        key, _ = load_or_create_key(settings.data_dir)
        keys = [key]
    api_key_scopes = tiers.scopes(settings.api_key_tier)
    failures: FailureCounter = (MemoryFailures() if settings.redis_url is None
                                else RedisFailures(settings.redis_url.get_secret_value()))
    stack.push_async_callback(failures.close)
    auth_throttle = AuthThrottle(failures, ThrottleLimits(
        settings.auth_throttle_window_seconds, settings.auth_throttle_address_failures,
        settings.auth_throttle_key_failures), metrics.auth_failures,
        enabled=settings.auth_throttle)
    passwords = Passwords(PasswordParams(settings.password_time_cost,
                                         settings.password_memory_kib,
                                         settings.password_parallelism))
    seal = TotpSeal.from_settings(
        settings.totp_key.get_secret_value() if settings.totp_key else None, settings.data_dir)
    policy = AccountPolicy(
        settings.lid_realm, settings.lid_zone, settings.password_min_length,
        settings.account_token_ttl_seconds, settings.lid_max_ttl_seconds,
        settings.account_lockout_failures, settings.account_lockout_seconds,
        settings.totp_issuer)
    identities = IdentityChain([
        LidResolver(tokens), ApiKeyResolver(keys, settings.api_key_tier, api_key_scopes),
    ])

    lane = settings.lane.value
    lane_policy = load_lanes(settings.guardian_lanes_file)[settings.lane]
    enforcement = Enforcement(lane, lane_policy, pool,
                              EnforcementMetrics(metrics.registry, lane, lane_policy.mode))
    await enforcement.kill_switch.engaged()  # read once before the first request
    embedders: list[Embedder] = [MiniLMEmbedder()] if minilm_available() else []
    embedders.append(HashingEmbedder(settings.hash_embedding_dimensions))
    embedding_models = EmbeddingRegistry(embedders, metrics,
                                         max_batch=settings.embeddings_max_batch,
                                         max_wait_s=settings.embeddings_max_wait_ms / 1000)
    stack.push_async_callback(embedding_models.close)
    # Closed first (callbacks run last in, first out): its reviews finish while the pool and
    # the embedding models they use are still there.
    stack.push_async_callback(enforcement.close)
    retention = load_retention()
    memory = (ConversationMemory(pool, embedding_models, settings.memory_embedding_model,
                                 metrics, retention=retention)
              if settings.long_term_memory else None)
    tool_model = embedding_models.get(settings.tool_embedding_model or
                                      embedding_models.default or "")
    builtin = BuiltinProvider(settings.context_window_tokens, ToolMatcher(
        tool_model.embedder.id, tool_model.embed, settings.tool_match_threshold))
    upstream = None
    if routing is not None:
        # One pooled client per upstream, opened now and closed when the service stops.
        upstream = UpstreamProvider(routing, metrics)
        upstream.clients.for_config(routing.config)
        stack.push_async_callback(upstream.clients.aclose)
    registry = ProviderRegistry([builtin], routed=upstream)
    # The Guardian's policy: an invalid one stops the start.
    semantic = SemanticIndex(embedding_models)
    guardian_policy = await stack.enter_async_context(PolicyReloader(
        settings.guardian_policy_dir, GuardianMetrics(metrics.registry),
        interval_s=settings.guardian_reload_seconds, embedding_models=semantic.models))
    guardian_policy.on_reload(semantic.on_reload)
    guardian_policy.on_reload(enforcement.policy_reloaded)
    guardian = Guardian(guardian_policy, semantic)
    # Its semantic examples embedded now, before the service is ready (a fraction of a second
    # on an idle worker; the first request to need them, under load, would wait seconds).
    try:
        await guardian.prepare(guardian_policy.policy)
    except Exception as exc:  # a review or a scan that needs them fails, and is counted
        log.warning("guardian semantic examples not embedded at start: %s", exc)
    # Changes to memory the service decides itself (dreams, sleep) pass the Guardian first.
    memory_guard = PolicyGuard(guardian)
    journal = Journal(pool, Signals(), metrics)
    experience = ExperienceLog(pool, metrics, lane)
    # Pushed before the tick's stop, so it runs after it: what the last tick left is written.
    stack.push_async_callback(experience.close)
    awareness = AwarenessEngine(metrics, lane)
    breakthroughs = BreakthroughDetector(metrics, lane)
    drift = DriftEngine(embedding_models.get(settings.memory_embedding_model).embedder,
                        metrics, lane, DriftLimits(warn=lane_policy.drift.warn,
                                                   block=lane_policy.drift.block), store=store,
                        breakthroughs=breakthroughs)
    dream_runner = DreamRunner(pool, journal, Recall(pool, embedding_models), registry,
                               memory_guard, metrics,
                               lease_s=settings.dream_lease_seconds,
                               workers=settings.dream_workers,
                               poll_ticks=max(1, round(settings.tick_hz)),
                               breakthroughs=breakthroughs,
                               embed=embedding_models.get(settings.memory_embedding_model).embed,
                               tracer=tracer_provider.get_tracer("lukhas.consciousness"))
    reflections = await experience.replay("reflection", AWARENESS_REPLAY)
    awareness.replay(reflections)
    drift.replay(reflections)
    engines: list[Engine] = [awareness, drift, experience]
    if memory is not None:
        sleep = Consolidator(pool, metrics, lane, settings=SleepSettings(
            similarity=settings.memory_fold_similarity,
            idle_seconds=settings.memory_sleep_idle_seconds),
            approve=guarded(memory_guard),
            tracer=tracer_provider.get_tracer("lukhas.consciousness"))
        sleep.replay(await experience.replay("memory_write", SLEEP_REPLAY))
        stack.push_async_callback(sleep.close)
        engines.append(sleep)
    tick = Tick(metrics, lane, hz=settings.tick_hz, buffer_size=settings.tick_buffer,
                engines=[*engines,
                         InProcessSweepEngine([sessions, store, limiter, failures]),
                         PeriodicJob("memory expiry sweep",
                                     ExpirySweeper(pool, metrics=metrics).sweep),
                         PeriodicJob("token marks sweep", tokens.marks.sweep),
                         dream_runner])
    indexes = IndexesService(pool, embedding_models, retention)
    orchestrator = Orchestrator(
        [MemoryStage(pool, sessions, memory, indexes),
         AttentionStage(lambda m: registry.card(m).context_window),
         ThoughtStage(registry, drift), RiskStage(guardian, enforcement), IntentStage(),
         ActionStage(tick, experience if settings.experience_log else None, metrics)],
        metrics, tracer_provider.get_tracer("lukhas.matriz"), lane, settings.budget_seconds,
    )
    stack.push_async_callback(dream_runner.close)  # after the tick stops: it starts no more
    tick.start()
    stack.push_async_callback(tick.stop)
    cards = [*registry.cards(), *embedding_models.cards()]
    windows = compaction.WindowSeal(Seal.from_settings(
        settings.compaction_key.get_secret_value() if settings.compaction_key else None,
        settings.data_dir, compaction.KEY_FILE))
    responses = ResponsesService(pool, orchestrator, registry, sessions, memory, lane, windows,
                                 settings.max_file_bytes)
    background = BackgroundResponses(
        pool, responses, TaskRunner("background responses", settings.background_concurrency),
        settings.background_lease_seconds, metrics)
    await background.start()
    stack.push_async_callback(background.stop, settings.background_grace_seconds)
    return AppState(
        settings=settings, pool=pool, identities=identities, registry=registry, tick=tick,
        experience=experience, drift=drift,
        responses=responses, background=background,
        compact=CompactService(pool, registry, windows),
        conversations=ConversationsService(pool),
        chat=ChatService(orchestrator, registry, sessions, memory, lane, settings.max_file_bytes),
        identity=IdentityService(tokens, tiers, settings.lid_max_ttl_seconds, pool=pool,
                                 experience=experience,
                                 sessions=sessions, memory=memory), store=store,
        limits=load_limits(settings.rate_limits_file or DEFAULT_LIMITS), limiter=limiter,
        metrics=metrics, sessions=sessions, embedding_models=embedding_models,
        embeddings=EmbeddingsService(embedding_models),
        indexes=indexes, routing=routing,
        upstream=upstream, cooldowns=None if upstream is None else upstream.cooldowns,
        accounts=AccountsService(pool, tiers, passwords, seal, policy),
        login=LoginService(pool, tokens, tiers, passwords, seal, auth_throttle, policy),
        auth_throttle=auth_throttle, models=ModelsService(cards, routing),
        routing_preview=RoutingPreviewService(routing, cards, set(tiers.scopes_by_tier)),
        dreams=DreamsService(pool, registry, journal, dream_runner.wake,
                             Outward(guardian, enforcement.enforced)),
        dream_runner=dream_runner,
        guardian=guardian, guardian_policy=guardian_policy,
        moderations=ModerationsService(guardian), enforcement=enforcement,
    )


def _open_store(settings: Settings) -> KeyValueStore:
    if settings.redis_url is None:
        return MemoryStore()
    return RedisStore(settings.redis_url.get_secret_value())
