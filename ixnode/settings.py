"""Django settings for IXNode Autoscaling. Every value comes from the environment (docs/configuration.md, one
section per system, in the order of this file), which a ``.env`` file in the project directory (mode 600) may fill
in; variables set in the environment win over the file. The product's own variables are IXNODE_<SYSTEM>_<NAME>."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

from ixnode.env import (
    env_bool,
    env_file_load,
    env_float,
    env_int,
    env_list,
    env_str,
    persisted_secret,
    private_dir,
)

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = env_file_load(BASE_DIR)
VAR_DIR = Path(env_str("IXNODE_VAR_DIR", str(BASE_DIR / "var")))
if not VAR_DIR.is_absolute():
    VAR_DIR = BASE_DIR / VAR_DIR
private_dir(VAR_DIR)  # mode 700: the database, the generated secret key, SSH known hosts

DEBUG = env_bool("DEBUG", False)
# SECRET_KEY from the environment; else the key generated once and kept in var/secret_key (mode 600), the same
# for `make run`, the worker and every manage.py command run beside it. Several hosts must share one key: set it.
SECRET_KEY = env_str("SECRET_KEY") or persisted_secret(VAR_DIR / "secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_q",
    "simple_history",
    "ixnode",
    "templates_app",
    "events",
    "autoscaling",
    "artifacts",
    "exporters",
    "policies",
    "provisioning",
    "notifications",
]

MIDDLEWARE = [
    "ixnode.guards.RequestBodyLimitMiddleware",  # first: a body above the limit gets 413 before anything reads it
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ixnode.middleware.LanguageMiddleware",  # the reader's choice, then LANGUAGE_CODE, then the browser
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ixnode.guards.DatabaseUnavailableMiddleware",  # a view that raised on an unavailable database: 503
]

ROOT_URLCONF = "ixnode.urls"
WSGI_APPLICATION = "ixnode.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "ixnode" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
            ],
        },
    },
]

# --- Database: SQLite (WAL, busy timeout) under var/ by default, PostgreSQL via DATABASE_URL ---------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL,
                                                      conn_max_age=env_int("IXNODE_DB_CONN_MAX_AGE", 60))}
    except ValueError as exc:  # dj_database_url.UnknownSchemeError among them: a typo in the URL
        raise ImproperlyConfigured(
            f"DATABASE_URL cannot be read ({exc}); write it as postgres://USER:PASSWORD@HOST:5432/NAME, or leave it "
            "unset for SQLite under var/") from exc
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "ixnode.sqlite3"),
            "CONN_MAX_AGE": env_int("IXNODE_DB_CONN_MAX_AGE", 60),
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
# A LANGUAGE_CODE the operator sets wins over the browser's Accept-Language (docs/i18n.md); left unset, browsers
# choose. The language menu (a cookie) wins over both.
IXNODE_LANGUAGE_FROM_BROWSER = env_bool("IXNODE_LANGUAGE_FROM_BROWSER", not env_str("LANGUAGE_CODE"))
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
X_FRAME_OPTIONS = "DENY"

# --- API ----------------------------------------------------------------------------------------------
# Request bodies above this many bytes are answered 413 (ixnode.guards); Django's own default, 2.5 MiB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("IXNODE_HTTP_MAX_BODY_BYTES", 2_621_440)
# JSON bodies nested deeper than this are answered 400 (ixnode.api.parsers).
IXNODE_API_JSON_MAX_DEPTH = env_int("IXNODE_API_JSON_MAX_DEPTH", 32)
# /api/schema/ and /api/docs/ answer signed-in users only unless this opens them to anyone.
IXNODE_API_SCHEMA_PUBLIC = env_bool("IXNODE_API_SCHEMA_PUBLIC", False)
# The Retry-After of the 503 answered while the database is unavailable (ixnode.guards).
IXNODE_HTTP_RETRY_AFTER_SECONDS = env_int("IXNODE_HTTP_RETRY_AFTER_SECONDS", 5)
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes a missing/wrong credential a 401 (not a 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["ixnode.api.permissions.OperatorPermissions"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The API reads JSON only (ixnode.api.parsers: DRF's parser with a nesting depth limit).
    "DEFAULT_PARSER_CLASSES": ["ixnode.api.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "EXCEPTION_HANDLER": "ixnode.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IXNode Autoscaling API",
    "DESCRIPTION": "Autoscaling configs, templates, scale events and the Alertmanager webhook.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The answers every operation can give (400/401/403/404/413/415/503) documented on each.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "ixnode.api.schema.routine_responses"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EventStatusEnum": "events.choices.EventStatus",
        "StageStatusEnum": "events.choices.StageStatus",
        "ArtifactStatusEnum": "autoscaling.choices.ArtifactStatus",
        "WhatIfStatusEnum": "policies.choices.WhatIfStatus",
        "AlertStatusEnum": ["firing", "resolved"],
    },
}

# --- Background work (django-q2): ORM broker by default, Redis with IXNODE_REDIS_URL -------------------
IXNODE_REDIS_URL = env_str("IXNODE_REDIS_URL")
Q_CLUSTER: dict = {
    # The cluster's name is also its queue's: installations sharing one Redis need different names.
    "name": env_str("IXNODE_Q_NAME", "ixnode"),
    "workers": env_int("IXNODE_Q_WORKERS", 4),
    "timeout": env_int("IXNODE_Q_TIMEOUT", 3600),
    "retry": env_int("IXNODE_Q_RETRY", 3700),
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "label": gettext_lazy("Background tasks"),  # the admin's heading of django-q2's models
    "sync": env_bool("IXNODE_Q_SYNC", False),
}
if IXNODE_REDIS_URL:
    Q_CLUSTER["redis"] = IXNODE_REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = env_float("IXNODE_Q_POLL", 0.5)


# --- The web app and the webhook ------------------------------------------------------------------------------
IXNODE_WEBHOOK_TOKEN = env_str("IXNODE_WEBHOOK_TOKEN")
# The web server listens on 127.0.0.1:$PORT (make run); unless told otherwise, that is where Alertmanager and
# the pipelines reach the app.
PORT = env_int("PORT", 8000)
IXNODE_PUBLIC_URL = (env_str("IXNODE_PUBLIC_URL").strip() or f"http://127.0.0.1:{PORT}").rstrip("/")
# How long a scale decision waits for vCenter's guest IPs when counting free pool addresses
IXNODE_DECISION_VCENTER_TIMEOUT = env_float("IXNODE_DECISION_VCENTER_TIMEOUT", 5.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("IXNODE_LOG_LEVEL", "INFO")},
    # urllib3 logs request paths at DEBUG; webhook URLs carry their secret in the path, so never below INFO.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "urllib3.connectionpool": {"level": "INFO"}},
}

# --- Prometheus and Alertmanager (HTTP APIs; ixnode/integrations/prometheus, alertmanager) --------------------
IXNODE_PROMETHEUS_URL = env_str("IXNODE_PROMETHEUS_URL", "http://127.0.0.1:9090").rstrip("/")
IXNODE_PROMETHEUS_TIMEOUT = env_float("IXNODE_PROMETHEUS_TIMEOUT", 5.0)
# A VM count is trusted only once Prometheus has discovered the job's targets: all of them scraped at least once, or
# its start / last configuration reload longer ago than this (for ~5 s after a start it lists none). Until then a
# decision is BLOCK_UNKNOWN_COUNT and starts no cooldown.
IXNODE_PROMETHEUS_DISCOVERY_SETTLE_SECONDS = env_float("IXNODE_PROMETHEUS_DISCOVERY_SETTLE_SECONDS", 30.0)
IXNODE_ALERTMANAGER_URL = env_str("IXNODE_ALERTMANAGER_URL", "http://127.0.0.1:9093").rstrip("/")
IXNODE_ALERTMANAGER_TIMEOUT = env_float("IXNODE_ALERTMANAGER_TIMEOUT", 5.0)

# --- PLG host: where the generated Prometheus/Alertmanager files are published (artifacts app) ----------------
# IXNODE_PLG_MODE: local (files on this machine), ssh (on IXNODE_PLG_SSH_HOST over SFTP), off (render only).
# Default off: writing into /etc/prometheus etc. must be an explicit choice, never a side effect of `make run`.
IXNODE_PLG_MODE = (env_str("IXNODE_PLG_MODE", "off").strip() or "off").lower()
if IXNODE_PLG_MODE not in {"local", "ssh", "off"}:
    raise ImproperlyConfigured(f"IXNODE_PLG_MODE must be local, ssh or off, got {IXNODE_PLG_MODE!r}")
IXNODE_PLG_SSH_HOST = env_str("IXNODE_PLG_SSH_HOST")
IXNODE_PLG_SSH_PORT = env_int("IXNODE_PLG_SSH_PORT", 22)
IXNODE_PLG_SSH_USER = env_str("IXNODE_PLG_SSH_USER")
IXNODE_PLG_SSH_KEY = env_str("IXNODE_PLG_SSH_KEY")
IXNODE_PLG_SSH_KNOWN_HOSTS = env_str("IXNODE_PLG_SSH_KNOWN_HOSTS")
IXNODE_PROMETHEUS_CONFIG = env_str("IXNODE_PROMETHEUS_CONFIG", "/etc/prometheus/prometheus.yml")
IXNODE_PROMETHEUS_RULES_DIR = env_str("IXNODE_PROMETHEUS_RULES_DIR", "/etc/prometheus/rules").rstrip("/")
IXNODE_PROMETHEUS_TARGETS_DIR = env_str("IXNODE_PROMETHEUS_TARGETS_DIR", "/etc/prometheus/targets").rstrip("/")
IXNODE_ALERTMANAGER_CONFIG = env_str("IXNODE_ALERTMANAGER_CONFIG", "/etc/prometheus/alertmanager.yml")
IXNODE_PROMTOOL = env_str("IXNODE_PROMTOOL", "promtool")
IXNODE_AMTOOL = env_str("IXNODE_AMTOOL", "amtool")
# Empty: POST <IXNODE_PROMETHEUS_URL|IXNODE_ALERTMANAGER_URL>/-/reload; else a command run on the PLG host.
IXNODE_PROMETHEUS_RELOAD_COMMAND = env_str("IXNODE_PROMETHEUS_RELOAD_COMMAND")
IXNODE_ALERTMANAGER_RELOAD_COMMAND = env_str("IXNODE_ALERTMANAGER_RELOAD_COMMAND")
IXNODE_PROMETHEUS_RATE_WINDOW = env_str("IXNODE_PROMETHEUS_RATE_WINDOW", "5m")
IXNODE_PROMETHEUS_SCRAPE_INTERVAL = env_str("IXNODE_PROMETHEUS_SCRAPE_INTERVAL")
IXNODE_ALERTMANAGER_GROUP_WAIT = env_str("IXNODE_ALERTMANAGER_GROUP_WAIT", "30s")
IXNODE_ALERTMANAGER_GROUP_INTERVAL = env_str("IXNODE_ALERTMANAGER_GROUP_INTERVAL", "5m")
# Regenerate artifacts inline at commit instead of on the django-q2 worker (single-process setups, tests).
IXNODE_ARTIFACTS_SYNC = env_bool("IXNODE_ARTIFACTS_SYNC", False)

# --- vCenter (ixnode/integrations/vcenter) --------------------------------------------------------------------
IXNODE_VCENTER_HOST = env_str("IXNODE_VCENTER_HOST")
IXNODE_VCENTER_PORT = env_int("IXNODE_VCENTER_PORT", 443)
IXNODE_VCENTER_USER = env_str("IXNODE_VCENTER_USER")
IXNODE_VCENTER_PASSWORD = env_str("IXNODE_VCENTER_PASSWORD")
IXNODE_VCENTER_VERIFY_TLS = env_bool("IXNODE_VCENTER_VERIFY_TLS", True)
IXNODE_VCENTER_THUMBPRINT = env_str("IXNODE_VCENTER_THUMBPRINT")
IXNODE_VCENTER_CA_FILE = env_str("IXNODE_VCENTER_CA_FILE")
IXNODE_VCENTER_DATACENTER = env_str("IXNODE_VCENTER_DATACENTER")
IXNODE_VCENTER_FOLDER = env_str("IXNODE_VCENTER_FOLDER")
IXNODE_VCENTER_RESOURCE_POOL = env_str("IXNODE_VCENTER_RESOURCE_POOL")
IXNODE_VCENTER_DATASTORE = env_str("IXNODE_VCENTER_DATASTORE")
IXNODE_VCENTER_TIMEOUT = env_float("IXNODE_VCENTER_TIMEOUT", 30.0)
IXNODE_VCENTER_TASK_TIMEOUT = env_float("IXNODE_VCENTER_TASK_TIMEOUT", 900.0)
IXNODE_VCENTER_SHUTDOWN_TIMEOUT = env_float("IXNODE_VCENTER_SHUTDOWN_TIMEOUT", 120.0)
IXNODE_VCENTER_GUEST_IP_TIMEOUT = env_float("IXNODE_VCENTER_GUEST_IP_TIMEOUT", 600.0)
IXNODE_VCENTER_GUEST_DOMAIN = env_str("IXNODE_VCENTER_GUEST_DOMAIN", "localdomain")
IXNODE_VCENTER_POLL_INTERVAL = env_float("IXNODE_VCENTER_POLL_INTERVAL", 0.5)
# After a clone, how long vCenter may still report the clone task; how long a guest may take to shut down
IXNODE_CLONE_SETTLE_SECONDS = env_float("IXNODE_CLONE_SETTLE_SECONDS", 120.0)
IXNODE_GUEST_SHUTDOWN_TIMEOUT = env_float("IXNODE_GUEST_SHUTDOWN_TIMEOUT", 120.0)

# --- F5 BIG-IP (iControl REST; ixnode/integrations/f5) --------------------------------------------------------
# IXNODE_F5_VERIFY_TLS is true, false or the path of a CA bundle / the device certificate
IXNODE_F5_HOST = env_str("IXNODE_F5_HOST")
IXNODE_F5_USER = env_str("IXNODE_F5_USER")
IXNODE_F5_PASSWORD = env_str("IXNODE_F5_PASSWORD")
IXNODE_F5_VERIFY_TLS = env_str("IXNODE_F5_VERIFY_TLS", "true")
IXNODE_F5_PARTITION = env_str("IXNODE_F5_PARTITION", "Common")
IXNODE_F5_TIMEOUT = env_float("IXNODE_F5_TIMEOUT", 10.0)
IXNODE_F5_DRAIN_TIMEOUT = env_float("IXNODE_F5_DRAIN_TIMEOUT", 300.0)
IXNODE_F5_DRAIN_POLL_INTERVAL = env_float("IXNODE_F5_DRAIN_POLL_INTERVAL", 2.0)

# --- SSH to VMs and network setup (ixnode/integrations/ssh, provisioning/network.py) --------------------------
IXNODE_SSH_HOST_KEY_POLICY = env_str("IXNODE_SSH_HOST_KEY_POLICY", "reject")
IXNODE_SSH_KNOWN_HOSTS = env_str("IXNODE_SSH_KNOWN_HOSTS", str(VAR_DIR / "ssh_known_hosts"))
IXNODE_SSH_PORT = env_int("IXNODE_SSH_PORT", 22)
IXNODE_SSH_CONNECT_TIMEOUT = env_float("IXNODE_SSH_CONNECT_TIMEOUT", 10.0)
IXNODE_SSH_COMMAND_TIMEOUT = env_float("IXNODE_SSH_COMMAND_TIMEOUT", 300.0)
IXNODE_SSH_BOOT_TIMEOUT = env_float("IXNODE_SSH_BOOT_TIMEOUT", 300.0)
IXNODE_SSH_RECONNECT_TIMEOUT = env_float("IXNODE_SSH_RECONNECT_TIMEOUT", 120.0)
IXNODE_NETPLAN_PATH = env_str("IXNODE_NETPLAN_PATH", "/etc/netplan/60-ixnode.yaml")
IXNODE_NETPLAN_INTERFACE = env_str("IXNODE_NETPLAN_INTERFACE", "ens192")
IXNODE_NETPLAN_APPLY_COMMAND = env_str("IXNODE_NETPLAN_APPLY_COMMAND", "sudo netplan apply")
IXNODE_NETPLAN_APPLY_TIMEOUT = env_float("IXNODE_NETPLAN_APPLY_TIMEOUT", 30.0)
IXNODE_NETPLAN_SUDO = env_bool("IXNODE_NETPLAN_SUDO", True)

# --- Pipelines and executors (provisioning app) ---------------------------------------------------------------
IXNODE_EXECUTOR = env_str("IXNODE_EXECUTOR", "embedded")
# Heartbeat of a running run, when a silent run counts as dead, how long a queued run may wait
IXNODE_PIPELINE_HEARTBEAT_SECONDS = env_float("IXNODE_PIPELINE_HEARTBEAT_SECONDS", 10.0)
IXNODE_PIPELINE_STALE_SECONDS = env_float("IXNODE_PIPELINE_STALE_SECONDS", 90.0)
IXNODE_PIPELINE_QUEUED_TIMEOUT = env_float("IXNODE_PIPELINE_QUEUED_TIMEOUT", 3600.0)
IXNODE_PIPELINE_EMBEDDED_QUEUED_TIMEOUT = env_float("IXNODE_PIPELINE_EMBEDDED_QUEUED_TIMEOUT", 300.0)
IXNODE_RECONCILE_INTERVAL_MINUTES = env_int("IXNODE_RECONCILE_INTERVAL_MINUTES", 1)
# Health check of a new VM (provisioning/health.py); IXNODE_HEALTH_TIMEOUT bounds the whole wait.
IXNODE_HEALTH_TIMEOUT = env_float("IXNODE_HEALTH_TIMEOUT", 300.0)
IXNODE_HEALTH_INTERVAL = env_float("IXNODE_HEALTH_INTERVAL", 5.0)
IXNODE_HEALTH_REQUEST_TIMEOUT = env_float("IXNODE_HEALTH_REQUEST_TIMEOUT", 5.0)
# How long the service page's instances panel waits for vCenter, the F5, Prometheus and the PLG host (in parallel)
IXNODE_INSTANCES_TIMEOUT = env_float("IXNODE_INSTANCES_TIMEOUT", 5.0)

# --- Jenkins (ixnode/integrations/jenkins): the generated jobs and the jenkins executor -----------------------
IXNODE_JENKINS_URL = env_str("IXNODE_JENKINS_URL").rstrip("/")
IXNODE_JENKINS_USER = env_str("IXNODE_JENKINS_USER")
IXNODE_JENKINS_TOKEN = env_str("IXNODE_JENKINS_TOKEN")
IXNODE_JENKINS_TIMEOUT = env_float("IXNODE_JENKINS_TIMEOUT", 15.0)
IXNODE_JENKINS_API_CREDENTIALS_ID = env_str("IXNODE_JENKINS_API_CREDENTIALS_ID", "ixnode-api-token")
IXNODE_JENKINS_POLL_SECONDS = env_float("IXNODE_JENKINS_POLL_SECONDS", 2.0)

# --- Grafana (ixnode/integrations/grafana): the service dashboard ---------------------------------------------
IXNODE_GRAFANA_URL = env_str("IXNODE_GRAFANA_URL").rstrip("/")
IXNODE_GRAFANA_TOKEN = env_str("IXNODE_GRAFANA_TOKEN")
IXNODE_GRAFANA_DATASOURCE_UID = env_str("IXNODE_GRAFANA_DATASOURCE_UID", "prometheus")
IXNODE_GRAFANA_FOLDER_UID = env_str("IXNODE_GRAFANA_FOLDER_UID")
IXNODE_GRAFANA_TIMEOUT = env_float("IXNODE_GRAFANA_TIMEOUT", 10.0)

# --- Exporter installs (Node Exporter / Promtail over SSH) and Loki -------------------------------------------
IXNODE_LOKI_URL = env_str("IXNODE_LOKI_URL", "http://127.0.0.1:3100").rstrip("/")
IXNODE_EXPORTER_DIR = env_str("IXNODE_EXPORTER_DIR", "/opt/ixnode-exporters")
IXNODE_NODE_EXPORTER_BINARY = env_str("IXNODE_NODE_EXPORTER_BINARY")
IXNODE_PROMTAIL_BINARY = env_str("IXNODE_PROMTAIL_BINARY")
IXNODE_SSH_KEY_PATH = env_str("IXNODE_SSH_KEY_PATH")

# --- Scaling policies (policies app): evaluation loop interval and the utilisation query's rate window --------
IXNODE_POLICY_INTERVAL = env_int("IXNODE_POLICY_INTERVAL", 60)
IXNODE_POLICY_RATE_WINDOW = env_str("IXNODE_POLICY_RATE_WINDOW", "2m")
# How far back the recommended policy's freshest reading (irate of the last two scrapes) may look.
IXNODE_POLICY_FRESH_WINDOW = env_str("IXNODE_POLICY_FRESH_WINDOW", "1m")
# The longest a what-if replay of a service's history may take (the history query, the replays, the plot).
IXNODE_POLICY_WHATIF_TIMEOUT = env_int("IXNODE_POLICY_WHATIF_TIMEOUT", 120)

# --- Notifications (webhooks: Slack-compatible JSON; e-mail through Django's mail backend) --------------------
IXNODE_NOTIFY_WEBHOOK_URLS = env_list("IXNODE_NOTIFY_WEBHOOK_URLS", [])
IXNODE_NOTIFY_EMAILS = env_list("IXNODE_NOTIFY_EMAILS", [])
IXNODE_NOTIFY_DEDUP_SECONDS = env_int("IXNODE_NOTIFY_DEDUP_SECONDS", 3600)
IXNODE_NOTIFY_TIMEOUT = env_float("IXNODE_NOTIFY_TIMEOUT", 5.0)
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "ixnode-autoscaling@localhost")
# The password-reset pages (/accounts/password_reset/…) answer 404 unless on; on by default once e-mail is
# configured (EMAIL_HOST or EMAIL_BACKEND set), since the reset link goes out by mail.
IXNODE_AUTH_PASSWORD_RESET = env_bool("IXNODE_AUTH_PASSWORD_RESET",
                                      bool(env_str("EMAIL_HOST") or env_str("EMAIL_BACKEND")))
