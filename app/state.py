"""What the lifespan opens, as one typed object on `app.state.lukhas`."""

from __future__ import annotations

from dataclasses import dataclass

from app.api.admin.service import RoutingPreviewService
from app.api.chat.service import ChatService
from app.api.conversations.service import ConversationsService
from app.api.dreams.service import DreamsService
from app.api.embeddings.service import EmbeddingsService
from app.api.identity.accounts import AccountsService
from app.api.identity.login import LoginService
from app.api.identity.service import IdentityService
from app.api.indexes.service import IndexesService
from app.api.models.service import ModelsService
from app.api.moderations.service import ModerationsService
from app.api.responses.background import BackgroundResponses
from app.api.responses.compact import CompactService
from app.api.responses.service import ResponsesService
from app.db.pool import Database
from app.dreams.runner import DreamRunner
from app.embeddings.registry import EmbeddingRegistry
from app.guardian.enforcement import Enforcement
from app.guardian.engine import Guardian
from app.guardian.reload import PolicyReloader
from app.identity.base import IdentityChain
from app.identity.throttle import AuthThrottle
from app.kv.base import KeyValueStore
from app.matriz.drift import DriftEngine
from app.matriz.experience import ExperienceLog
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.providers.upstream.provider import UpstreamProvider
from app.matriz.tick import Tick
from app.observability.metrics import Metrics
from app.reliability.ratelimit import Limiter, LimitsConfig
from app.routing.cooldown import CooldownTracker
from app.routing.reload import RoutingReloader
from app.sessions.base import SessionStore
from app.settings import Settings


@dataclass(slots=True)
class AppState:
    settings: Settings
    pool: Database
    identities: IdentityChain
    registry: ProviderRegistry
    tick: Tick
    experience: ExperienceLog
    drift: DriftEngine
    responses: ResponsesService
    background: BackgroundResponses
    compact: CompactService
    conversations: ConversationsService
    chat: ChatService
    identity: IdentityService
    store: KeyValueStore
    limits: LimitsConfig
    limiter: Limiter
    metrics: Metrics
    sessions: SessionStore
    embedding_models: EmbeddingRegistry
    embeddings: EmbeddingsService
    indexes: IndexesService
    accounts: AccountsService
    login: LoginService
    auth_throttle: AuthThrottle
    models: ModelsService
    routing_preview: RoutingPreviewService
    dreams: DreamsService
    dream_runner: DreamRunner
    guardian: Guardian
    guardian_policy: PolicyReloader
    moderations: ModerationsService
    enforcement: Enforcement
    routing: RoutingReloader | None = None  # the routing file in force, when one is set
    upstream: UpstreamProvider | None = None  # serves the routing file's groups
    # Upstream failures per deployment, when upstream calls report them (the preview reads it).
    cooldowns: CooldownTracker | None = None
