"""The one place that reads the environment.

Every setting Stagecoach understands is documented here, with its default.
`create_app()` takes one of these classes (or an instance); tests use
`TestConfig`.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:  # pragma: no cover - configuration error
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str) -> tuple[str, ...]:
    """A comma-separated setting, without blanks."""
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


def _env_optional_int(name: str) -> int | None:
    """An integer setting that may be left unset (None)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    return _env_int(name, 0)


def _env_window(name: str, default: str) -> str:
    """A daily window "HH:MM-HH:MM" (or empty / "off"), checked here so a typo stops the start, not the jobs."""
    raw = os.environ.get(name, default).strip()
    if raw.lower() in {"", "off", "none"}:
        return ""
    parts = raw.split("-")
    if len(parts) != 2 or not all(_is_clock_time(p.strip()) for p in parts):
        raise RuntimeError(f"{name} must be HH:MM-HH:MM (or off), got {raw!r}")
    return raw


def _is_clock_time(text: str) -> bool:
    hours, _, minutes = text.partition(":")
    return (len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()
            and int(hours) < 24 and int(minutes) < 60)


def normalise_database_url(url: str) -> str:
    """psycopg 3 is the PostgreSQL driver; accept the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_dir() -> Path:
    instance_dir = BASE_DIR / "instance"
    instance_dir.mkdir(exist_ok=True)
    return instance_dir


def _instance_secret() -> str:
    path = _instance_dir() / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{_instance_dir() / 'stagecoach.db'}"
    return normalise_database_url(url)


class Config:
    """Settings for a running server (the embedded default)."""

    # DATABASE_URL: SQLAlchemy URL; default a SQLite file under instance/.
    SQLALCHEMY_DATABASE_URI = _database_url()
    # Connections are recycled hourly rather than pinged before every checkout.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_recycle": 3600}
    # SECRET_KEY: signs bearer tokens. Unset, one is generated once and kept in
    # instance/secret_key, so every worker and restart accepts the same tokens.
    SECRET_KEY = os.environ.get("SECRET_KEY") or _instance_secret()
    # STAGECOACH_TOKEN_TTL: bearer token lifetime in seconds (default 12 h). Every request also
    # checks the token against its user's row, so logout, disabling, deleting, a new password,
    # groups or role end a user's tokens at once.
    TOKEN_TTL_SECONDS = _env_int("STAGECOACH_TOKEN_TTL", 12 * 3600)
    # The web console (/console) keeps its login in a signed session cookie, HttpOnly and
    # SameSite=Lax; STAGECOACH_SECURE_COOKIES=1 also marks it Secure (sent over HTTPS only): set it
    # whenever the console is served over TLS. A console session ends like a token (above).
    SESSION_COOKIE_NAME = "stagecoach_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("STAGECOACH_SECURE_COOKIES", False)
    # The console's CSRF tokens live as long as the session (its forms stay valid while it lasts).
    WTF_CSRF_TIME_LIMIT = None
    # STAGECOACH_BASIC_AUTH_CACHE_SECONDS: how long a verified HTTP Basic password is remembered in
    # the process (by a keyed hash, never the password), so /engine-rest clients do not pay argon2
    # on every request; the user's row is still checked each time. 0 turns the cache off.
    BASIC_AUTH_CACHE_SECONDS = _env_int("STAGECOACH_BASIC_AUTH_CACHE_SECONDS", 60)
    # Failed logins (token endpoint, HTTP Basic, a user's own password change) allowed per
    # username and per client address in a moving window, in the `limits` notation
    # ("10 per 15 minutes"); past them the server answers 429 with Retry-After without
    # checking the password. Successful logins are not counted.
    LOGIN_FAILURES_PER_USERNAME = os.environ.get("STAGECOACH_LOGIN_FAILURES_PER_USERNAME", "10 per 15 minutes")
    LOGIN_FAILURES_PER_ADDRESS = os.environ.get("STAGECOACH_LOGIN_FAILURES_PER_ADDRESS", "50 per 15 minutes")
    # RATELIMIT_STORAGE_URI: where failed logins are counted. memory:// counts in each process
    # (each gunicorn worker separately); redis://127.0.0.1:6379 shares the count between workers
    # and servers (recommended in production).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # STAGECOACH_PASSWORD_CHECKS_AT_ONCE: argon2 checks one process runs at a time (default 2, keep
    # it below gunicorn's --threads); a login finding no free slot within 0.25 s gets 503 with
    # Retry-After, so guessers cannot take every thread from clients that need no hashing.
    PASSWORD_CHECKS_AT_ONCE = _env_int("STAGECOACH_PASSWORD_CHECKS_AT_ONCE", 2)
    # STAGECOACH_PROXY_HOPS: the number of reverse proxies in front of the server that set
    # X-Forwarded-For / X-Forwarded-Proto. 0 (the default) trusts no such header: the client
    # address is the connection's. Set it to exactly the number of proxies you run, or clients
    # can forge their address (and escape the per-address login throttle).
    PROXY_HOPS = _env_int("STAGECOACH_PROXY_HOPS", 0)
    # STAGECOACH_ADMIN_PASSWORD: password of the `admin` user created on first start;
    # when unset a password is generated, printed once and written to
    # instance/initial-admin-password (delete it once you have changed it).
    ADMIN_PASSWORD = os.environ.get("STAGECOACH_ADMIN_PASSWORD")
    # argon2id cost for password hashes (the library's defaults).
    PASSWORD_TIME_COST = _env_int("STAGECOACH_PASSWORD_TIME_COST", 3)
    PASSWORD_MEMORY_COST = _env_int("STAGECOACH_PASSWORD_MEMORY_COST", 65536)
    # STAGECOACH_MAX_UPLOAD: largest accepted request body in bytes (default 5 MB).
    MAX_CONTENT_LENGTH = _env_int("STAGECOACH_MAX_UPLOAD", 5 * 1024 * 1024)
    # Attachments on records. STAGECOACH_ATTACHMENT_MAX_BYTES: the largest file (default 10 MiB; larger
    # is 413); the upload call accepts a body of that size even above STAGECOACH_MAX_UPLOAD.
    # STAGECOACH_ATTACHMENT_TYPES: comma-separated content types accepted, as read from the file's
    # bytes (never the client's header or name); anything else is 415. STAGECOACH_ATTACHMENT_PATH:
    # the folder the files are stored in, each under a random name (default instance/attachments).
    ATTACHMENT_MAX_BYTES = _env_int("STAGECOACH_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
    ATTACHMENT_TYPES = _env_list("STAGECOACH_ATTACHMENT_TYPES") or (
        "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "text/csv",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation")
    ATTACHMENT_PATH = os.environ.get("STAGECOACH_ATTACHMENT_PATH") or str(BASE_DIR / "instance" / "attachments")
    # STAGECOACH_JSON_MAX_DEPTH: deepest nesting of arrays and objects a JSON body may have (default 64).
    JSON_MAX_DEPTH = _env_int("STAGECOACH_JSON_MAX_DEPTH", 64)
    # STAGECOACH_RETRY_AFTER: seconds a client is told to wait (Retry-After) when the
    # database cannot be reached and the answer is 503 (default 5).
    DATABASE_RETRY_AFTER_SECONDS = _env_int("STAGECOACH_RETRY_AFTER", 5)
    # STAGECOACH_AUTO_UPGRADE: upgrade the database schema when the app starts.
    AUTO_UPGRADE = _env_bool("STAGECOACH_AUTO_UPGRADE", True)
    # STAGECOACH_SCRIPT_MAX_STEPS / _SECONDS: per script or condition, loop
    # iterations and function calls allowed (Python), and wall time (Python and JavaScript).
    SCRIPT_MAX_STEPS = _env_int("STAGECOACH_SCRIPT_MAX_STEPS", 100_000)
    SCRIPT_MAX_SECONDS = float(os.environ.get("STAGECOACH_SCRIPT_MAX_SECONDS", "2"))
    # STAGECOACH_ENGINE_MAX_STEPS: engine steps one request may run before the
    # instance is put in error (guards against diagrams that loop forever).
    ENGINE_MAX_STEPS = _env_int("STAGECOACH_ENGINE_MAX_STEPS", 1_000)
    # Bounded execution: what running an instance may cost. Past a limit a script or an engine step
    # fails with an incident naming the setting (the instance keeps its last good state; an admin
    # changes its variables and retries); input past a variable or state limit is refused (422).
    # STAGECOACH_SCRIPT_MAX_STRING / _ITEMS: the longest string (characters, or bytes) and the most
    # items of one list, tuple, set, dict or range a script may build, checked before it is built;
    # comparing, hashing or formatting a value counts its nested items too, shared ones each time.
    SCRIPT_MAX_STRING = _env_int("STAGECOACH_SCRIPT_MAX_STRING", 1_000_000)
    SCRIPT_MAX_ITEMS = _env_int("STAGECOACH_SCRIPT_MAX_ITEMS", 100_000)
    # STAGECOACH_SCRIPT_MAX_ALLOCATION: bytes one script run may allocate in all through the
    # operations that build values (an estimate: a byte per character, eight per item), 64 MiB;
    # for JavaScript, V8's heap beyond the context's own and the variables it is given.
    SCRIPT_MAX_ALLOCATION = _env_int("STAGECOACH_SCRIPT_MAX_ALLOCATION", 64 * 1024 * 1024)
    # STAGECOACH_VARIABLE_MAX_BYTES / STAGECOACH_INSTANCE_MAX_VARIABLES_BYTES: the JSON size of one
    # variable (1 MiB) and of all of an instance's variables (4 MiB), however they are set.
    VARIABLE_MAX_BYTES = _env_int("STAGECOACH_VARIABLE_MAX_BYTES", 1024 * 1024)
    INSTANCE_MAX_VARIABLES_BYTES = _env_int("STAGECOACH_INSTANCE_MAX_VARIABLES_BYTES", 4 * 1024 * 1024)
    # STAGECOACH_VARIABLE_MAX_DEPTH: how deeply lists and dicts may nest in one variable's value.
    VARIABLE_MAX_DEPTH = _env_int("STAGECOACH_VARIABLE_MAX_DEPTH", 32)
    # STAGECOACH_INSTANCE_MAX_STATE_BYTES: an instance's stored state (16 MiB); also what the scripts
    # of one command may change in variables, in all.
    INSTANCE_MAX_STATE_BYTES = _env_int("STAGECOACH_INSTANCE_MAX_STATE_BYTES", 16 * 1024 * 1024)
    # STAGECOACH_ENGINE_MAX_TASKS_PER_STEP / _PER_RUN / STAGECOACH_INSTANCE_MAX_TASKS: tasks one
    # engine step may create (a parallel multi-instance's instances are counted before any is
    # created), tasks one command may create in all, and tasks one instance may hold.
    ENGINE_MAX_TASKS_PER_STEP = _env_int("STAGECOACH_ENGINE_MAX_TASKS_PER_STEP", 500)
    ENGINE_MAX_TASKS_PER_RUN = _env_int("STAGECOACH_ENGINE_MAX_TASKS_PER_RUN", 1_000)
    INSTANCE_MAX_TASKS = _env_int("STAGECOACH_INSTANCE_MAX_TASKS", 3_000)
    # Bounded content: what a deployed diagram, a form or a template may cost the server.
    # STAGECOACH_BPMN_MAX_ELEMENTS: flow elements (activities, events, gateways and sequence flows)
    # one process may have, its sub-processes' included (a chain of 2,000 activities has 4,003);
    # a larger process is refused at deploy (422). Every engine step walks the whole task tree, so
    # a step costs time in proportion to this size.
    BPMN_MAX_ELEMENTS = _env_int("STAGECOACH_BPMN_MAX_ELEMENTS", 5_000)
    # STAGECOACH_BPMN_MAX_SUBPROCESS_DEPTH: how many sub-processes may nest inside one another.
    BPMN_MAX_SUBPROCESS_DEPTH = _env_int("STAGECOACH_BPMN_MAX_SUBPROCESS_DEPTH", 10)
    # STAGECOACH_DEPLOY_MAX_NESTING: how deeply a deployed file may nest: the XML elements of a
    # diagram or decision table, the objects and lists of a form or form schema.
    DEPLOY_MAX_NESTING = _env_int("STAGECOACH_DEPLOY_MAX_NESTING", 64)
    # STAGECOACH_PATTERN_MAX_LENGTH / _INPUT: the longest regular expression accepted in a form or a
    # CRM field, and the longest text checked against one (a longer value is refused). Patterns run
    # on RE2, in linear time; backreferences and lookaround are refused where they are saved.
    PATTERN_MAX_LENGTH = _env_int("STAGECOACH_PATTERN_MAX_LENGTH", 1_000)
    PATTERN_MAX_INPUT = _env_int("STAGECOACH_PATTERN_MAX_INPUT", 10_000)
    # STAGECOACH_TEMPLATE_MAX_SECONDS / _OUTPUT: wall time and characters one email subject or body
    # template may take to render (in Jinja's immutable sandbox); past either the step fails with
    # an incident naming the limit, and the instance stays at its last good state.
    TEMPLATE_MAX_SECONDS = float(os.environ.get("STAGECOACH_TEMPLATE_MAX_SECONDS", "1"))
    TEMPLATE_MAX_OUTPUT = _env_int("STAGECOACH_TEMPLATE_MAX_OUTPUT", 200_000)
    # STAGECOACH_TIMEZONE: the server's time zone (IANA name): the time of day of a date-based workflow
    # rule or a scheduled action that names no `timezone` of its own is read in it.
    TIMEZONE = os.environ.get("STAGECOACH_TIMEZONE", "UTC")
    # STAGECOACH_LOCK_TIMEOUT_MS: how long a write waits for another write on
    # the same instance before answering 409 (PostgreSQL row lock; SQLite busy timeout).
    LOCK_TIMEOUT_MS = _env_int("STAGECOACH_LOCK_TIMEOUT_MS", 5_000)
    INITIAL_ADMIN_PASSWORD_FILE = str(BASE_DIR / "instance" / "initial-admin-password")
    # STAGECOACH_BPMN_DIR: folder deployed by `flask bpmn deploy` without argument.
    BPMN_DIR = os.environ.get("STAGECOACH_BPMN_DIR", str(BASE_DIR / "bpmn"))

    # Email delivery (SMTP_HOST, SMTP_PORT, SMTP_FROM, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS).
    SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = _env_int("SMTP_PORT", 25)
    SMTP_FROM = os.environ.get("SMTP_FROM", "stagecoach@localhost")
    SMTP_USER = os.environ.get("SMTP_USER")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_STARTTLS = _env_bool("SMTP_STARTTLS", False)
    # WEBHOOK_SECRET: key of the X-Stagecoach-Signature HMAC-SHA256 on webhook bodies.
    WEBHOOK_SECRET = os.environ.get("WEBHOOK_SECRET") or SECRET_KEY
    # The outbox: attempts per message, back-off base, delivery time-out, and the
    # embedded dispatcher (STAGECOACH_OUTBOX_DISPATCH=0 to run `flask outbox deliver` yourself).
    OUTBOX_MAX_ATTEMPTS = _env_int("STAGECOACH_OUTBOX_MAX_ATTEMPTS", 3)
    OUTBOX_RETRY_BASE_SECONDS = _env_int("STAGECOACH_OUTBOX_RETRY_BASE_SECONDS", 30)
    OUTBOX_TIMEOUT_SECONDS = _env_int("STAGECOACH_OUTBOX_TIMEOUT_SECONDS", 10)
    OUTBOX_DISPATCH = _env_bool("STAGECOACH_OUTBOX_DISPATCH", True)
    OUTBOX_POLL_SECONDS = float(os.environ.get("STAGECOACH_OUTBOX_POLL_SECONDS", "2"))
    # STAGECOACH_TRACKING_BASE_URL: the server's public address as an email's reader reaches it
    # (https://crm.example.com, no trailing slash needed). Set, every email a process queues regarding a
    # record is tracked: its links become click links (GET <base>/t/c/<token>, redirecting to the link)
    # and an HTML body gets an open pixel (GET <base>/t/o/<token>); an open or click is a touchpoint on
    # the record's timeline and delivers the message `email_opened` to the record's waiting instances
    # (README, CRM section). Unset (the default): emails go out as written and nothing is tracked.
    TRACKING_BASE_URL = (os.environ.get("STAGECOACH_TRACKING_BASE_URL") or "").strip().rstrip("/") or None
    # Outbound calls (webhooks) reach only allowed hosts: the allow list admins keep at
    # /api/v1/outbound-hosts, plus STAGECOACH_OUTBOUND_ALLOW, comma-separated patterns always allowed
    # (`hooks.example.com`, `*.example.com` for its subdomains, an IP address or a CIDR; default none).
    # Their addresses must be public; STAGECOACH_OUTBOUND_ALLOW_PRIVATE lists patterns that may also
    # resolve to private, loopback or link-local addresses (an internal service; default none).
    OUTBOUND_ALLOW = _env_list("STAGECOACH_OUTBOUND_ALLOW")
    OUTBOUND_ALLOW_PRIVATE = _env_list("STAGECOACH_OUTBOUND_ALLOW_PRIVATE")
    # STAGECOACH_OUTBOUND_MAX_PER_STEP / _PER_INSTANCE: outbound calls (webhooks and emails) one engine
    # step of an instance may queue (default 50), and one instance in all (default 1000); one more fails the step.
    OUTBOUND_MAX_PER_STEP = _env_int("STAGECOACH_OUTBOUND_MAX_PER_STEP", 50)
    OUTBOUND_MAX_PER_INSTANCE = _env_int("STAGECOACH_OUTBOUND_MAX_PER_INSTANCE", 1000)

    # Timers: the embedded job runner in each server process (STAGECOACH_JOBS_EMBEDDED=0
    # when dedicated `flask jobs worker` processes run them) and how often it looks.
    JOBS_EMBEDDED = _env_bool("STAGECOACH_JOBS_EMBEDDED", True)
    JOBS_POLL_SECONDS = float(os.environ.get("STAGECOACH_JOBS_POLL_SECONDS", "1"))
    # STAGECOACH_MIGRATION_CHUNK_SIZE: instances a migration batch moves per transaction (default 50).
    MIGRATION_CHUNK_SIZE = max(1, _env_int("STAGECOACH_MIGRATION_CHUNK_SIZE", 50))
    # History retention (docs/operations.md). STAGECOACH_HISTORY_TTL_DAYS: days an ended (completed or
    # cancelled) instance and its history are kept when its definition names no time to live of its own
    # (camunda:historyTimeToLive, or one set by an admin); unset (the default): kept forever. An instance's
    # removal time is fixed when it ends: a new default applies to instances ending afterwards
    # (`flask history recompute` applies it to those that ended before).
    HISTORY_TTL_DAYS = _env_optional_int("STAGECOACH_HISTORY_TTL_DAYS")
    # STAGECOACH_HISTORY_CLEANUP_WINDOW: the daily window ("HH:MM-HH:MM", in STAGECOACH_TIMEZONE; it may
    # cross midnight) in which the job runner removes the instances whose removal time has come; empty
    # or "off": no scheduled cleanup (`flask history cleanup` and POST /engine-rest/history/cleanup still
    # run one). STAGECOACH_HISTORY_CLEANUP_BATCH_SIZE: instances removed per transaction (default 500).
    HISTORY_CLEANUP_WINDOW = _env_window("STAGECOACH_HISTORY_CLEANUP_WINDOW", "01:00-05:00")
    HISTORY_CLEANUP_BATCH_SIZE = _env_int("STAGECOACH_HISTORY_CLEANUP_BATCH_SIZE", 500)
    # CELERY_BROKER_URL / CELERY_RESULT_BACKEND: scale-out workers (app/jobs/celery.py),
    # e.g. redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672//
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or os.environ.get(
        "CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")

    # Operating (docs/operations.md). STAGECOACH_METRICS: serve Prometheus metrics at GET /metrics on the
    # server's own port (default on; 0 turns the route off). It answers an admin's bearer token, or
    # STAGECOACH_METRICS_TOKEN (a long random string for Prometheus' `authorization` setting; unset: admins
    # only). STAGECOACH_METRICS_ADDRESS (host:port, e.g. 127.0.0.1:9464): serve them there instead, with
    # prometheus_client's own HTTP server (no authentication: bind it where only Prometheus reaches); under
    # gunicorn the master serves it, and a Celery worker or `flask jobs worker` given one serves its own.
    # PROMETHEUS_MULTIPROC_DIR (read by prometheus_client itself): the folder where the processes of one
    # server add their counts up; gunicorn.conf.py makes a temporary one when it is unset and empties it
    # at start. Give Celery workers one of their own.
    METRICS_ENABLED = _env_bool("STAGECOACH_METRICS", True)
    METRICS_TOKEN = os.environ.get("STAGECOACH_METRICS_TOKEN") or None
    METRICS_ADDRESS = os.environ.get("STAGECOACH_METRICS_ADDRESS") or None
    # STAGECOACH_HEALTH_TIMEOUT: seconds /health/ready waits for the database (default 2).
    # STAGECOACH_HEALTH_RUNNER_STALE_SECONDS: /health/ready fails when no job runner (embedded, `flask jobs
    # worker`, Celery) has said it is alive for this long (default 60; runners beat every 10 s at most);
    # 0 leaves job runners out of readiness (API processes whose timers run elsewhere, if their
    # readiness must not follow the workers').
    HEALTH_TIMEOUT_SECONDS = float(os.environ.get("STAGECOACH_HEALTH_TIMEOUT", "2"))
    HEALTH_RUNNER_STALE_SECONDS = _env_int("STAGECOACH_HEALTH_RUNNER_STALE_SECONDS", 60)
    # STAGECOACH_LOG_FORMAT: json (default: one JSON object per line on standard output) or text (for a
    # terminal). STAGECOACH_LOG_LEVEL: the server's own loggers (INFO: a line per request and per job).
    LOG_FORMAT = os.environ.get("STAGECOACH_LOG_FORMAT", "json").strip().lower()
    LOG_LEVEL = os.environ.get("STAGECOACH_LOG_LEVEL", "INFO").strip().upper()

    API_TITLE = "Stagecoach"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    JSON_SORT_KEYS = False


class TestConfig(Config):
    """Settings for the test suite: TEST_DATABASE_URL picks the database."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    ADMIN_PASSWORD = "admin-password"
    SCRIPT_MAX_SECONDS = 1.0
    PASSWORD_TIME_COST = 1
    PASSWORD_MEMORY_COST = 1024
    OUTBOX_DISPATCH = False  # tests deliver by calling deliver_due with a controlled clock
    JOBS_EMBEDDED = False  # tests run due jobs by calling run_due_jobs with a controlled clock
    HISTORY_CLEANUP_WINDOW = ""  # no scheduled cleanup job unless a test sets a window
    WEBHOOK_SECRET = "test-webhook-secret"
    TRACKING_BASE_URL = "https://crm.example.test"
    # The suite logs in wrong on purpose here and there; tests of the throttle build an app with the real limits.
    LOGIN_FAILURES_PER_USERNAME = "10000 per hour"
    LOGIN_FAILURES_PER_ADDRESS = "10000 per hour"
    RATELIMIT_STORAGE_URI = "memory://"
    PASSWORD_CHECKS_AT_ONCE = 64  # concurrency tests log in from many threads at once
    # TEST_DATABASE_URL: the database the suite runs on (default: a temporary SQLite file).
    SQLALCHEMY_DATABASE_URI = normalise_database_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://")


class ProductionConfig(Config):
    """Settings for production: the secret key must come from the environment."""

    def __init__(self) -> None:
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in production")
