"""`dockbell playground`: a local web page that plays Slack, with the real dockbell behind it.

* people.py: the four people and the channels the page shows (they match config/playground-policy.yml);
* services.py: Redis (REDIS_URL or a private redis-server) and the Docker engine's reachability;
* snapshot.py: what one person sees of the fake workspace, as JSON for the page;
* actions.py: what the page's person does (a slash command, a mention, a click, a modal's
  submit), sent to dockbell as Slack sends it: signed HTTP requests;
* page.py: the aiohttp server of the page (static files, the actions, a WebSocket of snapshots);
* run.py: starts it all (fake Slack, Redis, `dockbell serve` as a child process) and stops it.

The fake Slack itself is bot.fakeslack, the one the tests use.
"""
