// Types shared by the loader (widget.js) and the chat UI (widget/chat.js).

/** A protocol frame (docs/protocol.md): one JSON object with a `type`. */
export type Frame = Record<string, any>;

/** What the store's backend signed (docs/widget.md, "Identity"), plus display details. */
export interface Customer {
  id: string;
  expires: number;
  signature: string;
  name?: string;
  email?: string;
}

/** GET /api/v1/sites/{key}/widget-config */
export interface Config {
  site: { key: string; name: string; departments: string[] };
  language: string;
  color: string;
  position: string;
  texts: Record<string, Record<string, string>>;
  prechat: string[];
  timezone: string;
  hours: Record<string, string>;
  reply_hours: number;
  open: boolean;
  next_open: number | null;
  /** The median wait for a first reply lately (s), null when too few chats tell. */
  reply_seconds?: number | null;
  /** Agents online now (first names), for the avatars before a chat. */
  team?: { name: string }[];
  /** What the shopper may send (docs/widget.md, "Attachments"); null: no attachments. */
  attachments?: { max_bytes: number; types: string[] } | null;
  /** Whether the server sends mail (docs/email.md): false, no "email me the transcript". */
  mail?: boolean;
  /** The site's enabled invitation rules (docs/widget.md, "Proactive invitations"). */
  invitations?: Rule[];
  /** Whether the site has published articles (the FAQ suggestions before a chat). */
  articles?: boolean;
  /** Whether some online agent has a free slot now. */
  room?: boolean;
}

/** A proactive invitation rule (a condition left null or false is no condition). */
export interface Rule {
  id: string;
  enabled?: boolean;
  url?: string | null;
  seconds_on_page?: number | null;
  min_cart_value?: number | null;
  min_cart_items?: number | null;
  returning?: boolean | null;
  min_pages?: number | null;
  exit_intent?: boolean;
  business_hours?: boolean;
  needs_room?: boolean;
  messages?: Record<string, string>;
  per_days?: number | null;
}

/** What the page told the widget through the API (kept by the loader until the UI loads). */
export interface Options {
  site: string;
  /** The URL widget.js came from, without the file name (ends with "/"). */
  base: string;
  customer: Customer | null;
  language: string;
  department: string;
  page: Record<string, unknown> | null;
  cart: Record<string, unknown> | null;
  /** The store's `data-sound="on"`: a chime for a new reply while the tab is hidden. */
  sound: boolean;
}

/** What the loader hands to the chat UI. */
export interface Host {
  opts: Options;
  config: Config;
  root: ShadowRoot;
  /** The themed wrapper inside the shadow root: the UI adds its panel here. */
  frame: HTMLElement;
  launcher: HTMLButtonElement;
  /** The invitation the shopper answered (set by the chat UI): the panel greets with it. */
  invited?: string;
  emit(name: string, data?: unknown): void;
  setUnread(count: number): void;
  /** The active language: "en" or "zh-CN". */
  lang(): string;
  relabel(): void;
}

/** The chat UI's side of the JS API. */
export interface ChatApi {
  open(): void;
  close(): void;
  toggle(): void;
  identify(customer: Customer | null): void;
  reset(): void;
  setLanguage(language: string): void;
  setDepartment(department: string): void;
  page(page: Record<string, unknown> | null): void;
  cart(cart: Record<string, unknown> | null): void;
}

declare global {
  /** The chat UI bundle's content hash, set by the build (widget/build.mjs). */
  const __CHAT_VERSION__: string;
  interface Window {
    ChatWidget?: ((...args: unknown[]) => void) & { q?: IArguments[]; loaded?: boolean; version?: string };
  }
}
