"""Every Redis key name, in one place.

Two hash tags shard the data the way Redis Cluster needs it (every script touches one slot):

* ``{s:SITE}`` — a site's routing state: queues, agents' live state, conversation metadata.
  The assignment, release, transfer and sweep scripts work within it.
* ``{c:CONVERSATION}`` — one conversation's transcript stream, its client-message-id index and
  its pub/sub channel. The append script works within it.

Keys outside any tag are only read or written one at a time (sessions, the login index).
"""

from __future__ import annotations

PREFIX = "chat"


def _site(site: str) -> str:
    return f"{PREFIX}:{{s:{site}}}"


def _conv(conversation_id: str) -> str:
    return f"{PREFIX}:{{c:{conversation_id}}}"


# --- deployment-wide -------------------------------------------------------------------------
SECRET = f"{PREFIX}:secret"  # string: the HMAC secret shared by every process
SITES = f"{PREFIX}:sites"  # hash: site key -> site JSON
LOGINS = f"{PREFIX}:logins"  # hash: agent login -> site key
# Set: logins that still have the demo's published password (`serve` refuses to start).
DEMO_PASSWORDS = f"{PREFIX}:demo_passwords"


# Sorted set: conversation id -> ms after which its files may be gone (its records expire then);
# the attachment sweep deletes the files of conversations whose records are gone.
ATTACHMENTS_DUE = f"{PREFIX}:files:due"


def metrics_probe(process: str) -> str:
    """Pub/sub channel: a process's probe of its own event bus lag (reports.sampler)."""
    return f"{PREFIX}:metrics:probe:{process}"


def session(token_hash: str) -> str:
    """String with TTL: an agent session (keyed by the token's SHA-256, never the token)."""
    return f"{PREFIX}:session:{token_hash}"


# --- a site's routing state ({s:SITE}) -------------------------------------------------------
def agents(site: str) -> str:
    """Hash: login -> agent profile JSON (name, departments, role, max capacity)."""
    return f"{_site(site)}:agents"


def passwords(site: str) -> str:
    """Hash: login -> argon2 hash."""
    return f"{_site(site)}:passwords"


def agent_status(site: str) -> str:
    """Hash: login -> online | away | offline (what the agent chose)."""
    return f"{_site(site)}:agent:status"


def agent_capacity(site: str) -> str:
    """Hash: login -> 1..3."""
    return f"{_site(site)}:agent:capacity"


def agent_load(site: str) -> str:
    """Hash: login -> number of conversations assigned now."""
    return f"{_site(site)}:agent:load"


def agent_depts(site: str) -> str:
    """Hash: login -> comma-separated departments."""
    return f"{_site(site)}:agent:depts"


def agent_idle(site: str) -> str:
    """Hash: login -> ms of their last assignment (or of coming online): idle-longest order."""
    return f"{_site(site)}:agent:idle"


def agent_convs(site: str) -> str:
    """Sorted set, all scores 0: members 'login<TAB>conversation' (range by login prefix)."""
    return f"{_site(site)}:agent:convs"


def available(site: str) -> str:
    """Sorted set: agents who can take a chat now (online, connected, load < capacity),
    scored by routing.agent_score. Derived from the hashes above by the scripts only."""
    return f"{_site(site)}:available"


def presence(site: str) -> str:
    """Sorted set: 'login<TAB>connection id' -> ms deadline (refreshed by heartbeats)."""
    return f"{_site(site)}:presence"


def presence_count(site: str) -> str:
    """Hash: login -> number of live entries in `presence`."""
    return f"{_site(site)}:presence:count"


def grace(site: str) -> str:
    """Sorted set: login -> ms deadline; agents disconnected and within their grace period."""
    return f"{_site(site)}:grace"


def queue(site: str, department: str) -> str:
    """Sorted set: conversation id -> routing.queue_score."""
    return f"{_site(site)}:queue:{department}"


def queue_seq(site: str) -> str:
    """Hash: 'back' and 'front' counters for queue scores."""
    return f"{_site(site)}:queue:seq"


def left_queue(site: str) -> str:
    """Sorted set: queued conversation id -> ms deadline after which it is abandoned."""
    return f"{_site(site)}:queue:left"


def inbox(site: str, department: str) -> str:
    """Sorted set: conversation id -> ms it was left; the department's offline inbox (messages
    left for the agents, out of the live queue, taken by an agent by hand)."""
    return f"{_site(site)}:inbox:{department}"


def conversation(site: str, conversation_id: str) -> str:
    """Hash: a conversation's metadata (see core.model.Conversation)."""
    return f"{_site(site)}:conv:{conversation_id}"


def visitor_convs(site: str, visitor: str) -> str:
    """Sorted set: a visitor's conversation ids, scored by creation ms."""
    return f"{_site(site)}:visitor:{visitor}"


def visitor_starts(site: str, visitor: str, hour: int) -> str:
    """Counter with a TTL: conversations a visitor started in one clock hour."""
    return f"{_site(site)}:visitor:{visitor}:starts:{hour}"


def visitor_uploads(site: str, visitor: str, hour: int) -> str:
    """Counter with a TTL: files a visitor uploaded in one clock hour (attachments)."""
    return f"{_site(site)}:visitor:{visitor}:uploads:{hour}"


def recent_conversations(site: str) -> str:
    """Sorted set: the site's newest conversation ids (at most store.conversation_index.RECENT),
    scored by creation ms: what conversation search and the reply-time figure read."""
    return f"{_site(site)}:recent"


def tags(site: str) -> str:
    """Sorted set: tag -> how many conversations got it (the console suggests the most used)."""
    return f"{_site(site)}:tags"


def last_agent(site: str) -> str:
    """Hash: customer key -> login of the agent who served them last."""
    return f"{_site(site)}:last_agent"


def stats(site: str) -> str:
    """Hash: rolling handle time per department ('handle:DEPT') and counters."""
    return f"{_site(site)}:stats"


def agent_online(site: str) -> str:
    """Hash: login -> ms since which the agent is online and connected (an open stretch of
    time online; closed stretches go to `agent_sessions`)."""
    return f"{_site(site)}:agent:online"


def agent_sessions(site: str) -> str:
    """Sorted set: 'login|from ms|to ms' -> to ms; the stretches agents were online (reports'
    agent-hours), pruned after the rollups' retention."""
    return f"{_site(site)}:agent:sessions"


# --- reports: rollups counted where the state changes ({s:SITE}; see core/kpis.py) -----------
def kpi_day(site: str, day_ms: int) -> str:
    """Hash: the site's counts and duration histograms of the UTC day starting at `day_ms`
    (any ms of the day will do), one field per hour, fact, department and agent."""
    return f"{_site(site)}:kpi:{day_ms // 86_400_000}"


def kpi_resolved(site: str, customer_key: str) -> str:
    """String with a TTL (the reopen window): 'closed ms|department|agent' of the customer's
    last chat closed as resolved; a new conversation of theirs within the window reopens it."""
    return f"{_site(site)}:kpi:resolved:{customer_key}"


def kpi_targets(site: str) -> str:
    """Hash: the site's service targets and report time zone (core.kpis.Targets)."""
    return f"{_site(site)}:kpi:targets"


def kpi_demo(site: str) -> str:
    """String: set when `chatserver demo` seeded made-up history into the site's rollups."""
    return f"{_site(site)}:kpi:demo"


def site_channel(site: str) -> str:
    """Pub/sub channel: queue changes and agent events of the site (`revoked`: an agent's
    sessions ended, their sockets re-check at once)."""
    return f"{_site(site)}:events"


# --- the agent console: customers, orders, quick replies ({s:SITE}) --------------------------
def customer(site: str, customer_id: str) -> str:
    """Hash: a customer pushed by the store: 'json', 'updated_ms' (pushes only move forward)."""
    return f"{_site(site)}:customer:{customer_id}"


def customer_orders(site: str, customer_id: str) -> str:
    """Sorted set: the customer's pushed order ids, scored by when they were placed (ms)."""
    return f"{_site(site)}:customer:{customer_id}:orders"


def customer_convs(site: str, customer_id: str) -> str:
    """Sorted set: conversation ids of a verified customer, scored by creation ms."""
    return f"{_site(site)}:customer:{customer_id}:convs"


def order(site: str, order_id: str) -> str:
    """Hash: an order pushed by the store: 'json', 'updated_ms', 'owner' (its customer id)."""
    return f"{_site(site)}:order:{order_id}"


def orders_source(site: str) -> str:
    """Hash: where the site's orders come from: push secret, pull URL template, auth, TTL,
    and the last pull error (`last_pull_error`, `last_pull_error_ms`: for the admin only)."""
    return f"{_site(site)}:orders:source"


def orders_cache(site: str, customer_id: str) -> str:
    """String (JSON, with an expiry): the last orders pulled from the store for a customer,
    with when they were fetched and the last error."""
    return f"{_site(site)}:orders:cache:{customer_id}"


def orders_pulling(site: str, customer_id: str) -> str:
    """String with a TTL: one pull per customer at a time, and a pause after a failed one."""
    return f"{_site(site)}:orders:pulling:{customer_id}"


def quick_replies(site: str) -> str:
    """Hash: quick reply id -> JSON (shared ones per department, personal ones per agent)."""
    return f"{_site(site)}:replies"


# --- the knowledge base and invitations ({s:SITE}; store/articles.py) -----------------------
def articles(site: str) -> str:
    """Hash: article id -> article JSON (kb.model.Article, both languages)."""
    return f"{_site(site)}:kb:articles"


def articles_published(site: str) -> str:
    """Set: ids of the published articles (the widget's `articles` flag)."""
    return f"{_site(site)}:kb:published"


def articles_version(site: str) -> str:
    """Counter: raised by every article change; processes rebuild their search index on it."""
    return f"{_site(site)}:kb:version"


def invitations(site: str) -> str:
    """String: the site's invitation rules, a JSON list (kb.model.parse_rules)."""
    return f"{_site(site)}:invitations"


# --- one client address ({a:ADDRESS}) --------------------------------------------------------
def _address(address: str) -> str:
    return f"{PREFIX}:{{a:{address}}}"


def login_attempts(address: str, login_hash: str) -> str:
    """Hash with a TTL ('tries', 'until' ms): login attempts of one login from one address."""
    return f"{_address(address)}:login:{login_hash}"


def address_starts(address: str, hour: int) -> str:
    """Counter with a TTL: conversations started from one address in one clock hour."""
    return f"{_address(address)}:starts:{hour}"


def address_attempts(address: str) -> str:
    """Hash with a TTL ('tries', 'until' ms): login attempts from one address."""
    return f"{_address(address)}:logins"


def address_kb_requests(address: str, minute: int) -> str:
    """Counter with a TTL: public knowledge-base requests from one address in one minute."""
    return f"{_address(address)}:kb:{minute}"


# --- one conversation ({c:ID}) ---------------------------------------------------------------
def transcript(conversation_id: str) -> str:
    """Stream: every message and system event of the conversation, in order."""
    return f"{_conv(conversation_id)}:stream"


def client_ids(conversation_id: str) -> str:
    """Hash: 'sender|client message id' -> stream id (the dedupe index)."""
    return f"{_conv(conversation_id)}:cmids"


def sender_rate(conversation_id: str, sender: str) -> str:
    """Hash with a TTL ('tokens', 'at' ms): a sender's message bucket in this conversation."""
    return f"{_conv(conversation_id)}:rate:{sender}"


def attachments(conversation_id: str) -> str:
    """Hash: attachment id -> its record JSON (core.attachments.Attachment); kept as long as
    the transcript."""
    return f"{_conv(conversation_id)}:files"


def attachment_ids(conversation_id: str) -> str:
    """Hash: 'sender|client message id' -> attachment id (a retried upload is stored once)."""
    return f"{_conv(conversation_id)}:file_cmids"


def attachment_bytes(conversation_id: str) -> str:
    """Counter: bytes of the conversation's stored files (the per-conversation limit)."""
    return f"{_conv(conversation_id)}:file_bytes"


def conversation_channel(conversation_id: str) -> str:
    """Pub/sub channel: stream entries (published by the append script) and ephemeral events."""
    return f"{_conv(conversation_id)}:events"


def site_of_channel(channel: str) -> str:
    """The site of a `site_channel` name ('' if it is not one)."""
    return _tagged(channel, "s")


def conversation_of_channel(channel: str) -> str:
    """The conversation of a `conversation_channel` name ('' if it is not one)."""
    return _tagged(channel, "c")


def _tagged(channel: str, tag: str) -> str:
    head = f"{PREFIX}:{{{tag}:"
    if not (channel.startswith(head) and channel.endswith("}:events")):
        return ""
    return channel[len(head) : -len("}:events")]


def site_keys(site: str) -> list[str]:
    """The 17 keys every site script receives first, in the order `lua/_lib.lua` names them."""
    return [
        agent_status(site),
        agent_capacity(site),
        agent_load(site),
        agent_idle(site),
        presence_count(site),
        available(site),
        agent_convs(site),
        agent_depts(site),
        last_agent(site),
        stats(site),
        queue_seq(site),
        left_queue(site),
        grace(site),
        presence(site),
        site_channel(site),
        agent_online(site),
        agent_sessions(site),
    ]


# --- the mail outbox ({mail}: one slot, so its scripts run on Redis Cluster) ---------------
def _mail() -> str:
    return f"{PREFIX}:{{mail}}"


MAIL_OUTBOX = f"{_mail()}:outbox"  # stream: mails to send, read by consumer group MAIL_GROUP
MAIL_GROUP = "senders"  # the consumer group every server process reads the outbox in
MAIL_LATER = f"{_mail()}:later"  # sorted set: mail JSON -> ms it is due again (after a failure)
MAIL_DEAD = f"{_mail()}:dead"  # list: mail JSON of mails given up on (newest first)


MAIL_REPLIES = f"{_mail()}:replies"  # sorted set: 'SITE CONV' -> ms its agents' lines are due
DEMO_MAILBOX = f"{_mail()}:demo_mailbox"  # list: raw mails the demo's SMTP sink got (newest first)
MAIL_LEASED = f"{_mail()}:leased"  # sorted set: 'SITE CONV' -> ms a process's lease on it ends


def mail_key(key: str) -> str:
    """String with a TTL: 'queued' or 'sent'; the idempotency record of mail `key`."""
    return f"{_mail()}:key:{key}"


def mail_mailed(conversation_id: str) -> str:
    """String: the transcript id of the last agent line mailed to the shopper."""
    return f"{_mail()}:mailed:{conversation_id}"


def mail_inbound(client_msg_id: str) -> str:
    """String: 'pending', then the conversation a reply by mail was appended to."""
    return f"{_mail()}:inbound:{client_msg_id}"


def mail_site(site: str) -> str:
    """String: a site's mail settings as JSON (core.mail.SiteMail)."""
    return f"{_mail()}:site:{site}"


def mail_thread(conversation_id: str) -> str:
    """String: the site of a conversation that was mailed (replies find it by its id)."""
    return f"{_mail()}:thread:{conversation_id}"
