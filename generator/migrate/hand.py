"""Templates for migrations written by hand (`specgen migrate --empty NAME --template T`): SQL the spec cannot
say but a specgen project usually wants, filled in from the spec. Once written the file is the user's, like
any hand-written migration: the next build records it in the lock and it is append-only from then on."""
from __future__ import annotations

from typing import TYPE_CHECKING

from generator.quoting import sql_string

if TYPE_CHECKING:
    from generator.ir import IR

SCHEDULE_FUNCTIONS = "schedule-functions"
TEMPLATES = (SCHEDULE_FUNCTIONS,)

# The Edge Functions of docs/edge-functions.md that run on a schedule (the webhook receiver is called by Odoo).
SCHEDULED_FUNCTIONS = ("sync-from-odoo", "sync-to-odoo")
SCHEDULE, EVERY = "* * * * *", "every minute"
# Vault secret names: the two of Supabase's scheduling guide, and the token the sync functions check
# themselves (the anon key is public: it passes the gateway's JWT check, it must not start a sync).
URL_SECRET, KEY_SECRET, TOKEN_SECRET = "project_url", "anon_key", "specgen_function_token"
TOKEN_HEADER = "x-specgen-function-token"  # the header the functions read it from (functions/_shared/guard.ts)
# How long pg_net waits for a function's answer: Supabase's wall-clock limit of a function on the free plan
# (150 s), so an invocation that uses its whole budget is still recorded in net._http_response.
TIMEOUT_MS = 150_000


def job_prefix(ir: IR) -> str:
    return f"specgen-{ir.project.name}-"


def render_template(template: str, ir: IR) -> str:
    """The text of the hand-written migration `template`, for the spec `ir`."""
    if template != SCHEDULE_FUNCTIONS:
        raise ValueError(f"no migration template {template!r}")
    from generator.text.templating import render
    prefix = job_prefix(ir)
    jobs = [{"function": f, "literal": sql_string(prefix + f)} for f in SCHEDULED_FUNCTIONS]
    return render("migrations/schedule-functions.sql.j2", jobs=jobs, names=", ".join(j["literal"] for j in jobs),
                  prefix=prefix, schedule=sql_string(SCHEDULE), every=EVERY, url_secret=URL_SECRET,
                  key_secret=KEY_SECRET, token_secret=TOKEN_SECRET, token_header=TOKEN_HEADER,
                  timeout_ms=TIMEOUT_MS)
