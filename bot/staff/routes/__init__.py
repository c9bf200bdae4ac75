"""The staff dashboard's routes, one module per part of the work.

Each module has one `register(app, dashboard)` that adds its routes to the Sanic app;
create_app (bot/staff/app.py) calls them all with the one Dashboard (bot/staff/context.py).
What several modules share (pages, refusals, the cookie, the answer to a step) is in
bot/staff/web.py.

- auth.py: login, logout, account setup links, health
- queue.py: the queue page and its live update, the handler's availability
- escalation.py: one escalation: its page, claim, take over, release, resolve, notes
- handoff.py: a handler in the relative's conversation: join, write, hand back, end, live view
- admin.py: accounts and the audit log (admins only)
- quick_replies.py: prepared answers ("snabbsvar"), managed by admins
- supervisor.py: every live conversation at a glance (admins only)
- statistics.py: figures per week and month, CSV and chart (admins only)
"""
