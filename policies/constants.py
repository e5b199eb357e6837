"""Constants of scaling policies."""

DEFAULT_TARGET_UTILISATION = 60.0
DEFAULT_TOLERANCE = 0.1
DEFAULT_STABILISATION_SECONDS = 300
DEFAULT_WARMUP_SECONDS = 300
DEFAULT_MAX_CHANGE_PER_RUN = 2
DEFAULT_CLONE_LEAD_SECONDS = 300
DEFAULT_FORECAST_HISTORY_DAYS = 28
# Flaps: a scale-in followed by a scale-out within this many seconds (simulator report).
FLAP_WINDOW_SECONDS = 900
# What-if replays of a service's own history: the days an operator may choose, and the points per series.
WHATIF_DEFAULT_DAYS = 7
WHATIF_MIN_DAYS = 1
WHATIF_MAX_DAYS = 30
WHATIF_MAX_POINTS = 10_000
WHATIF_MIN_STEP_SECONDS = 60
WHATIF_KEEP_RUNS = 20  # what-if runs kept per service (each holds its plot); older ones are deleted
