"""The services one fake cloud is made of, built once and shared by its REST, WS and control
layers (the transports hold no state of their own, DESIGN "thin transports")."""

from dataclasses import dataclass, field

from fake_cloud.api.auth import Authority
from fake_cloud.api.consent import Consent
from fake_cloud.state.backend import Backend
from fake_cloud.state.clock import Clock, SystemClock
from fake_cloud.state.config import CloudConfig, Policies
from fake_cloud.state.faults import Faults, RateLimiter
from fake_cloud.state.recorder import Recorder
from fake_cloud.state.tokens import Tokens

__all__ = ["Services"]


@dataclass(slots=True)
class Services:
    config: CloudConfig
    policies: Policies
    clock: Clock
    backend: Backend
    tokens: Tokens
    authority: Authority
    consent: Consent
    recorder: Recorder
    faults: Faults
    limiter: RateLimiter
    # Exceptions raised in request and socket handlers; FakeCloud.check() re-raises them.
    errors: list[BaseException] = field(default_factory=list)

    @classmethod
    def build(cls, config: CloudConfig, clock: Clock | None = None) -> "Services":
        clock = clock or SystemClock()
        policies = config.policies
        backend = Backend(config.seed)
        tokens = Tokens(backend.seed)
        recorder = Recorder(
            clock.now,
            config.recorder_size,
            max_field=config.recorder_field_bytes,
            max_bytes=config.recorder_bytes,
        )
        return cls(
            config=config,
            policies=policies,
            clock=clock,
            backend=backend,
            tokens=tokens,
            authority=Authority(backend, tokens, clock, policies),
            consent=Consent(backend, tokens, recorder, policies, clock),
            recorder=recorder,
            faults=Faults(backend.seed),
            limiter=RateLimiter(clock.now),
        )
