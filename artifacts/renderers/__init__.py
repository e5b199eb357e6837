"""Generated PLG and Jenkins artifacts of an autoscaling config.

Renderers are pure functions (config + :class:`RenderContext` in, text out); merging into the operator's
``prometheus.yml``/``alertmanager.yml`` lives in :mod:`artifacts.merge`; writing, validating and
reloading in :mod:`ixnode.integrations.plg`; the orchestration in :mod:`artifacts.services`.
"""
