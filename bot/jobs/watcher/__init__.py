"""The crash watcher: Docker events → classify → incidents → coalesce → paced delivery to Slack.

Each host's worker runs one (bot/jobs/watcher/watcher.py, started by bot/jobs/host_worker.py
when the config has a ``notifications:`` section).  Serve runs the host reachability check
(reachability.py), which imports nothing of Docker.  docs/notifications.md says what users see.
"""
