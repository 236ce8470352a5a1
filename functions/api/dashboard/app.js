// The seatkeeper dashboard: one page over the API it is served by. Plain DOM and SVG, no
// dependencies, nothing loaded from elsewhere. Text from the API is always set as text, never
// as HTML. Figures carry data-figure attributes so that tests can find them.

const API = location.pathname.replace(/\/dashboard\/?$/, "");
// Each view renders into its own box (its `main`), shown only if it is still the one asked for
// when it is ready: a slow overview must not replace the page someone has moved on to.
const stage = document.getElementById("main");
let routed = 0;
const TOKEN_KEY = "seatkeeper.token";
const session = { token: null, claims: {}, groups: new Set(), config: { sign_in: null, credential_fields: {} } };
// The stylesheet's palette, for SVG attributes (which take plain colours).
const COLORS = {
  active: "#1a7f37", stale: "#b35900", unknown: "#6e7781", unused: "#c9d1d9",
  compliant: "#0969da", over_licensed: "#9a6700", under_licensed: "#cf222e",
  d30_60: "#4d9a2a", d60_90: "#9a6700",
};
const READ = ["admin", "sam_integrator", "sam_viewer"];
const WRITE = ["admin", "sam_integrator"];
const can = {
  read: () => READ.some((g) => session.groups.has(g)),
  write: () => WRITE.some((g) => session.groups.has(g)),
  approve: () => session.groups.has("admin"),
};

// --- building the page ------------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false && c !== ""));
  return element;
}

// replaceChildren, leaving out the nothing that optional parts give (it would print "null").
function fill(element, ...children) {
  element.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false && c !== ""));
  return element;
}

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children.flat(Infinity).filter(Boolean));
  return element;
}

const numbers = new Intl.NumberFormat(undefined);
const PERIODS = { monthly: "month", quarterly: "quarter", annual: "year" };
const MONTHS = { monthly: 1, quarterly: 3, annual: 12 };
const count = (n) => numbers.format(n ?? 0);
function money(amount) {
  if (!amount) return "–";
  const value = new Intl.NumberFormat(undefined, { style: "currency", currency: amount.currency }).format(amount.amount);
  return `${value} / ${PERIODS[amount.period] || amount.period}`;
}
const moneys = (list) => (list && list.length ? list.map(money).join(" + ") : "–");
// Overview money comes as rates (per month and per year, per currency) or as amounts (saved so far).
const cash = (value, currency, options = {}) => new Intl.NumberFormat(undefined, { style: "currency", currency, ...options }).format(value);
// A key figure's money: the amount large, its unit small, on one line as far as it goes.
const monthly = (rates) =>
  rates && rates.length ? rates.map((r, i) => [i ? " + " : "", cash(r.per_month, r.currency), h("span", { class: "unit" }, " / month")]) : "–";
// The key figures say "per month" in their label, so that a large amount keeps its line.
const amounts = (rates, per = "per_month") => (rates && rates.length ? rates.map((r) => cash(r[per], r.currency)).join(" + ") : "–");
const perMonth = (rates) => (rates && rates.length ? rates.map((r) => `${cash(r.per_month, r.currency)} / month`).join(" + ") : "–");
const perYear = (rates) => (rates && rates.length ? rates.map((r) => `${cash(r.per_year, r.currency)} / year`).join(" + ") : "–");
const totals = (list) => (list && list.length ? list.map((t) => cash(t.amount, t.currency)).join(" + ") : "–");
const percent = (value) => (value === null || value === undefined ? "–" : `${value.toFixed(1)}%`);
// Utilisation of an app that reports no activity is unknown: nobody can be counted active there.
const utilisation = (value) => (value === null || value === undefined ? "unknown" : percent(value));
// One vocabulary for a user without activity, everywhere: the app reports activity and has none
// for them, or the app reports no activity at all.
const NEVER = "never signed in";
const NO_DATA = "no activity data";
function when(text) {
  if (!text) return "never";
  const date = new Date(text);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
function day(text) {
  return text ? new Date(text).toLocaleDateString(undefined, { dateStyle: "medium" }) : "never";
}
const label = (name) => name.replaceAll("_", " ");
const badge = (status) => h("span", { class: `badge ${status}` }, label(status));

function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.textContent = ""), 6000);
}

function panel(title, ...children) {
  const id = `h-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

function figure(name, title, value, note, classes = "") {
  return h("div", {}, h("dt", {}, title), h("dd", { "data-figure": name, class: classes }, value, note ? h("small", {}, note) : null));
}

function table(columns, rows, caption, { stack = false } = {}) {
  // A box that scrolls on a phone: focusable, so that the keyboard can scroll it too. A stacked
  // table turns each row into a card on a phone instead, every cell labelled with its column.
  return h(
    "div",
    { class: "scroll", tabindex: 0, role: "region", "aria-label": caption || "Table" },
    h(
      "table",
      stack ? { class: "stack" } : {},
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : "" }, c.title)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c, i) => h("td", { class: c.num ? "num" : "", "data-label": c.title }, row[i]))))),
    ),
  );
}

// --- charts: SVG with a title and description, and the same data as a table for everyone ------

let chartIds = 0;
function chart(title, description, width, height, content, data, caption) {
  const id = `chart-${++chartIds}`;
  const drawing = svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": `${id}-t ${id}-d` },
    svg("title", { id: `${id}-t` }, document.createTextNode(title)),
    svg("desc", { id: `${id}-d` }, document.createTextNode(description)),
    content,
  );
  return h(
    "figure",
    {},
    drawing,
    caption ? h("figcaption", {}, caption) : null,
    h("details", {}, h("summary", {}, "Show as a table"), table(data.columns, data.rows, title)),
  );
}

function text(x, y, content, attributes = {}) {
  return svg("text", { x, y, ...attributes }, document.createTextNode(content));
}

function columnChart(title, bars) {
  const width = 480, height = 244, bottom = 196, top = 22, max = Math.max(1, ...bars.map((b) => b.value));
  const step = width / bars.length;
  const content = bars.map((b, i) => {
    const barHeight = ((bottom - top) * b.value) / max;
    const x = i * step + step * 0.15;
    return svg(
      "g",
      {},
      svg("rect", { x, y: bottom - barHeight, width: step * 0.7, height: Math.max(barHeight, 1), fill: b.color, rx: 3 }),
      text(x + step * 0.35, bottom - barHeight - 5, count(b.value), { "text-anchor": "middle" }),
      // A long label takes two lines: "never" over "signed in".
      svg(
        "text",
        { x: x + step * 0.35, y: bottom + 18, "text-anchor": "middle", class: "muted" },
        (b.lines || [b.label]).map((part, line) => svg("tspan", { x: x + step * 0.35, dy: line ? 15 : 0 }, document.createTextNode(part))),
      ),
    );
  });
  const description = bars.map((b) => `${b.label}: ${count(b.value)}`).join("; ");
  return chart(title, description, width, height, [svg("line", { x1: 0, x2: width, y1: bottom, y2: bottom, class: "axis" }), ...content], {
    columns: [{ title: "Group" }, { title: "Users", num: true }],
    rows: bars.map((b) => [b.label, count(b.value)]),
  });
}


// HTML rather than SVG: its text keeps its size on a phone, and each row reads as a sentence.
function positionChart(applications) {
  const rows = applications.filter((a) => a.latest);
  if (!rows.length) return h("p", { class: "sub" }, "No application has been reconciled yet.");
  const max = Math.max(1, ...rows.map((a) => Math.max(a.latest.licenses_purchased, a.latest.assigned)));
  const share = (value) => (100 * value) / max;
  return h(
    "div",
    {},
    h(
      "ul",
      { class: "legend", "aria-hidden": "true" },
      ["active", "stale", "unknown"].map((n) => h("li", {}, h("span", { class: "key", "data-color": COLORS[n] }), `${n} users`)),
      h("li", {}, "frame: licenses purchased, coloured by position"),
    ),
    h(
      "ul",
      { class: "positions", "aria-label": "Position per application" },
      rows.map((a) => {
        const p = a.latest;
        return h(
          "li",
          { "data-profile": a.profile_id },
          h("a", { class: "position-name", href: `#/apps/${a.profile_id}` }, a.name),
          h(
            "div",
            { class: "track", "aria-hidden": "true" },
            h("div", { class: "frame", "data-width": share(p.licenses_purchased), "data-border": COLORS[p.position] }),
            h(
              "div",
              { class: "fill" },
              ["active", "stale", "unknown"].map((kind) => h("span", { "data-width": share(p[kind]), "data-color": COLORS[kind] })),
            ),
          ),
          h(
            "p",
            { class: "hint" },
            badge(p.position),
            ` ${count(p.assigned)} of ${count(p.licenses_purchased)} assigned: ${count(p.active)} active, ${count(p.stale)} stale, ${count(p.unknown)} unknown`,
          ),
        );
      }),
    ),
  );
}

// Round steps for an axis from 0 to at least `max`: 1, 2, 2.5 or 5 times a power of ten.
function ticks(max, integer) {
  const rough = Math.max(max, integer ? 1 : 0.01) / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough);
  if (integer) step = Math.max(1, Math.ceil(step));
  const top = Math.ceil(Math.max(max, step) / step) * step;
  return Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
}

// A line over days, with a y-axis in `unit` and a caption that says what the last point is.
function lineChart(title, points, value, format, { unit, axis = format, integer = false, caption }) {
  const width = 440, height = 210, left = 58, right = 14, top = 28, bottom = 172;
  if (!points.length) return h("p", { class: "sub" }, `${title}: no positions recorded yet.`);
  const values = points.map(value);
  const marks = ticks(Math.max(...values), integer);
  const max = marks[marks.length - 1];
  const x = (i) => left + (points.length === 1 ? (width - left - right) / 2 : ((width - left - right) * i) / (points.length - 1));
  const y = (v) => bottom - ((bottom - top) * v) / max;
  const line = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const last = values.length - 1;
  const content = [
    text(4, 14, unit, { class: "muted" }),
    marks.map((m) => [
      svg("line", { x1: left, x2: width - right, y1: y(m), y2: y(m), class: m ? "grid-line" : "axis" }),
      text(left - 6, y(m) + 4, axis(m), { "text-anchor": "end", class: "muted" }),
    ]),
    svg("polyline", { points: line, fill: "none", stroke: COLORS.compliant, "stroke-width": 2.5 }),
    values.map((v, i) => svg("circle", { cx: x(i), cy: y(v), r: points.length > 40 ? 1.5 : 3, fill: COLORS.compliant })),
    text(x(last), y(values[last]) - 8, format(values[last]), { "text-anchor": "end" }),
    text(left, bottom + 20, day(points[0].date), { class: "muted" }),
    text(width - right, bottom + 20, day(points[last].date), { class: "muted", "text-anchor": "end" }),
  ];
  const description = `In ${unit}: from ${format(values[0])} on ${day(points[0].date)} to ${format(values[last])} on ${day(points[last].date)}; highest ${format(Math.max(...values))}.`;
  return chart(title, description, width, height + 10, content, {
    columns: [{ title: "Day" }, { title: `${title} (${unit})`, num: true }],
    rows: points.map((p, i) => [day(p.date), format(values[i])]),
  }, caption);
}

// Horizontal bars in HTML (its text keeps its size on a phone), with their data as a table below.
function barList(title, items, data) {
  const max = Math.max(1e-9, ...items.map((i) => i.value));
  return h(
    "figure",
    {},
    h(
      "ol",
      { class: "bars", "aria-label": title },
      items.map((i) =>
        h("li", { "data-profile": i.id }, h("span", {}, i.label), " ", h("strong", {}, i.text), h("div", { class: "bar", "aria-hidden": "true", "data-width": (100 * i.value) / max })),
      ),
    ),
    // Shown, not folded: it has more than the bars (cost per license, utilisation).
    table(data.columns, data.rows, title),
  );
}

// --- talking to the API -------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message, detail) {
    super(message);
    this.status = status;
    this.detail = detail || [];
  }
}

async function call(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (answer.status === 401) {
    forget();
    throw new ApiError(401, "Your sign-in has ended. Sign in again.");
  }
  const data = answer.status === 204 ? null : await answer.json().catch(() => null);
  if (!answer.ok) throw new ApiError(answer.status, (data && data.message) || answer.statusText, data && data.detail);
  return data;
}

async function everyProfile() {
  let items = [], cursor = null;
  do {
    const page = await call(`/profiles?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items = items.concat(page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// --- signing in ---------------------------------------------------------------------------------

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

function remember(token) {
  const claims = claimsOf(token);
  if (!claims || (claims.exp && claims.exp * 1000 < Date.now())) return false;
  session.token = token;
  session.claims = claims;
  let groups = claims["cognito:groups"] || [];
  if (typeof groups === "string") groups = groups.replace(/[[\]]/g, "").split(/[\s,]+/);
  session.groups = new Set(groups);
  sessionStorage.setItem(TOKEN_KEY, token);
  return true;
}

function forget() {
  session.token = null;
  session.groups = new Set();
  sessionStorage.removeItem(TOKEN_KEY);
}

const redirectUri = () => location.origin + location.pathname;

async function startSignIn() {
  const signIn = session.config.sign_in;
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("seatkeeper.pkce", JSON.stringify({ verifier, state, back: location.hash }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: signIn.client_id,
    redirect_uri: redirectUri(),
    scope: "openid email profile",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(`${signIn.authorize_url}?${query}`);
}

async function finishSignIn(query) {
  const pending = JSON.parse(sessionStorage.getItem("seatkeeper.pkce") || "null");
  sessionStorage.removeItem("seatkeeper.pkce");
  history.replaceState(null, "", location.pathname + ((pending && pending.back) || "#/"));
  if (query.get("error")) throw new Error(`Sign-in was refused: ${query.get("error_description") || query.get("error")}`);
  if (!pending || pending.state !== query.get("state")) throw new Error("This sign-in link was not started here. Sign in again.");
  const signIn = session.config.sign_in;
  const answer = await fetch(signIn.token_url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: signIn.client_id,
      code: query.get("code"),
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    }),
  });
  const tokens = await answer.json().catch(() => ({}));
  if (!answer.ok || !remember(tokens.access_token || "")) throw new Error("Sign-in did not give a usable token. Sign in again.");
}

function signOut() {
  forget();
  const signIn = session.config.sign_in;
  if (signIn) {
    const query = new URLSearchParams({ client_id: signIn.client_id, logout_uri: redirectUri() });
    location.assign(`${signIn.logout_url}?${query}`);
  } else {
    route();
  }
}

function signInView(problem) {
  const signIn = session.config.sign_in;
  const content = [h("h1", {}, "Sign in to seatkeeper"), problem ? h("p", { class: "callout bad", role: "alert" }, problem) : null];
  if (signIn) {
    content.push(h("p", {}, "Sign in with your seatkeeper account: admins, integrators and viewers each see what their role allows."));
    content.push(h("button", { class: "primary", onclick: startSignIn }, "Sign in"));
  } else {
    const input = h("textarea", { id: "token", rows: 4, autocomplete: "off", spellcheck: "false" });
    content.push(
      h("p", {}, "This stack has no sign-in page of its own. Open the link that ", h("code", {}, "seatkeeper local"), " printed, or paste a token from ", h("code", {}, "seatkeeper token --role admin"), ":"),
      h(
        "form",
        {
          onsubmit: (event) => {
            event.preventDefault();
            if (remember(input.value.trim())) route();
            else signInView("That is not a token this dashboard can use (or it has expired).");
          },
        },
        h("div", { class: "field" }, h("label", { for: "token" }, "Token"), input),
        h("button", { class: "primary", type: "submit" }, "Use this token"),
      ),
    );
  }
  routed++;
  fill(stage, ...content);
  showWho();
}

function showWho() {
  const who = document.getElementById("who");
  for (const link of document.querySelectorAll("[data-role=write]")) link.hidden = !can.write();
  if (!session.token) return fill(who);
  const role = ["admin", "sam_integrator", "sam_viewer"].find((g) => session.groups.has(g)) || "no role";
  fill(who, 
    h("span", {}, `${session.claims.email || session.claims.username || session.claims.sub || "signed in"} · `, h("strong", { "data-role-name": role }, label(role))),
    h("button", { onclick: signOut }, "Sign out"),
  );
}

// --- the overview -------------------------------------------------------------------------------

const BUCKETS = [
  ["d0_30", "0–30", COLORS.active],
  ["d30_60", "30–60", COLORS.d30_60],
  ["d60_90", "60–90", COLORS.d60_90],
  ["d90_120", "90–120", COLORS.stale],
  ["d120_plus", "120+", COLORS.under_licensed],
  ["never", NEVER, COLORS.unknown, ["never", "signed in"]],
];

// Captions that say what their figure is, in words a test can recompute it from.
function savingsCaption(o) {
  const netted = o.taken_back ? ` (the ${count(o.taken_back)} taken back already left out)` : "";
  return `${perYear(o.potential_savings)}; the cost of ${count(o.reclaimable)} seats unassigned or stale${netted}`;
}

// A seat taken back is paid until its app's billing period ends: its saving starts with the next bill.
function savedCaption(o) {
  return h(
    "span",
    {},
    `${count(o.actual_savings.seats)} licenses taken back this year${o.actual_savings.earlier_seats ? `, ${count(o.actual_savings.earlier_seats)} earlier` : ""}; each saves from its app's next bill after the reclamation, so this counts this year's bills since`,
    o.committed_savings && o.committed_savings.length ? [". Committed: ", committedSavings(o.committed_savings)] : null,
  );
}

// "$X a year from <date>", one per start date and currency; an app without a renewal date says so.
function committedSavings(committed) {
  const onDay = (iso) => new Date(`${iso}T00:00:00Z`).toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" });
  return committed.map((c, i) => [
    i ? " + " : null,
    h(
      "span",
      { "data-committed": c.starts_on || "unknown" },
      `${cash(c.per_year, c.currency)} a year from `,
      c.starts_on ? onDay(c.starts_on) : `an unknown date (no renewal date for ${c.applications.join(", ")})`,
    ),
  ]);
}

async function overviewView(main) {
  const [o, waiting, renewing] = await Promise.all([
    call("/analytics/overview"),
    call("/reclamations?status=awaiting_approval"),
    call("/renewals?within_days=120"),
  ]);
  const names = Object.fromEntries(o.per_application.map((a) => [a.profile_id, a.name]));
  // The savings trend in one currency: the first of today's (the trend's last point is today's).
  const latest = o.trend.length ? o.trend[o.trend.length - 1] : null;
  const currency = latest && latest.potential_savings.length ? latest.potential_savings[0].currency : null;
  const trendMoney = (p) => (p.potential_savings.find((r) => r.currency === currency) || { per_month: 0 }).per_month;
  const activity = BUCKETS.map(([key, name, color, lines]) => ({ label: name, lines, value: o.activity[key], color }));
  if (o.activity.no_data) activity.push({ label: NO_DATA, lines: ["no activity", "data"], value: o.activity.no_data, color: COLORS.unused });
  const maxSaving = Math.max(1, ...o.top_savings.map((t) => t.potential_savings.per_month));
  const year = o.actual_savings.year;

  fill(main, 
    h("h1", {}, "SaaS overview"),
    h("p", { class: "sub" }, `${count(o.reconciled_applications)} of ${count(o.applications)} applications reconciled; figures from each one's latest license position, money per month and per year.`),
    h(
      "dl",
      { class: "figures", "aria-label": "Key figures" },
      figure("applications", "Applications", count(o.applications)),
      figure("licenses_purchased", "Licenses purchased", count(o.licenses_purchased)),
      figure("assigned", "Assigned", count(o.assigned)),
      figure("unassigned", "Unassigned", count(o.unassigned), "free seats, added up over the applications"),
      figure("active", "Active", count(o.active)),
      figure("stale", "Stale", count(o.stale), "assigned, no activity within the policy's window"),
      figure("stale_percent_of_assigned", "Stale among assigned", percent(o.stale_percent_of_assigned), "stale ÷ assigned"),
      figure("spend", "Current spend per month", amounts(o.spend), perYear(o.spend)),
      figure("potential_savings", "Potential savings per month", amounts(o.potential_savings), savingsCaption(o), "money"),
      figure("true_up_cost", "True-up cost per month", amounts(o.true_up_cost), o.true_up_cost.length ? `${perYear(o.true_up_cost)}; for under-licensed apps` : "no under-licensed app", o.true_up_cost.length ? "warn" : ""),
      figure("actual_savings_ytd", `Saved in ${year} so far`, totals(o.actual_savings_ytd), savedCaption(o), "money"),
      figure("saved_run_rate", "Saved run rate per month", amounts(o.saved_run_rate), o.saved_run_rate.length ? perYear(o.saved_run_rate) : "no saving begins this year", "money"),
    ),
    waitingPanel(waiting.items, names),
    renewalsPanel(renewing.items),
    h(
      "div",
      { class: "grid" },
      panel(
        "Users by last activity",
        h("p", { class: "sub" }, "Licensed users by the days since their last activity"),
        columnChart("Licensed users by days since their last activity", activity),
      ),
      panel(
        "Top applications by savings",
        o.top_savings.length
          ? h(
              "ol",
              { class: "top-savings" },
              o.top_savings.map((t) =>
                h(
                  "li",
                  { "data-profile": t.profile_id },
                  h("a", { href: `#/apps/${t.profile_id}` }, t.name),
                  ` — ${perMonth([t.potential_savings])}, ${count(t.stale)} stale`,
                  h("div", { class: "bar", "aria-hidden": "true", "data-width": (100 * t.potential_savings.per_month) / maxSaving }),
                ),
              ),
            )
          : h("p", { class: "sub" }, "Nothing to save yet: no reconciled application has unused licenses."),
      ),
    ),
    panel(
      "Position per application",
      h(
        "p",
        { class: "sub", "data-figure": "positions" },
        `${count(o.positions.compliant)} compliant · ${count(o.positions.over_licensed)} over-licensed · ${count(o.positions.under_licensed)} under-licensed`,
      ),
      positionChart(o.per_application),
    ),
    h(
      "div",
      { class: "grid" },
      panel(
        "Stale seats over time",
        lineChart("Stale seats", o.trend, (p) => p.stale, count, {
          unit: "seats",
          integer: true,
          caption: "Stale seats at the end of each day; the last point is today, the Stale figure above.",
        }),
      ),
      panel(
        "Potential savings over time",
        currency
          ? lineChart("Potential savings", o.trend, trendMoney, (v) => cash(v, currency), {
              unit: `${currency} / month`,
              axis: (v) => cash(v, currency, { notation: "compact" }),
              caption: "Potential savings per month at the end of each day; the last point is today, the Potential savings figure above.",
            })
          : h("p", { class: "sub" }, "No savings recorded yet."),
      ),
    ),
    h("div", { class: "grid" }, spendPanel(o.per_application), spendGroupsPanel(o)),
    panel("Applications", applicationsTable(o.per_application), download("/analytics/overview.csv", "seatkeeper-overview.csv", "Download the applications as CSV")),
  );
  // Sizes and colours from data, set through the CSSOM: the page's CSP allows no inline styles.
  for (const element of main.querySelectorAll("[data-width]")) element.style.width = `${element.dataset.width}%`;
  for (const element of main.querySelectorAll("[data-color]")) element.style.background = element.dataset.color;
  for (const element of main.querySelectorAll("[data-border]")) element.style.borderColor = element.dataset.border;
}

// What each application costs, largest first; cost per license and utilisation beside it.
function spendPanel(applications) {
  const paying = applications.filter((a) => a.spend).sort((a, b) => b.spend.per_month - a.spend.per_month);
  if (!paying.length) return panel("Spend per application", h("p", { class: "sub" }, "No application has been reconciled yet."));
  return panel(
    "Spend per application",
    h("p", { class: "sub" }, "Licenses purchased × cost per license; utilisation is active users ÷ licenses purchased."),
    barList(
      "Spend per application",
      paying.map((a) => ({ id: a.profile_id, label: a.name, text: perMonth([a.spend]), value: a.spend.per_month })),
      {
        columns: [{ title: "Application" }, { title: "Spend / month", num: true }, { title: "Spend / year", num: true }, { title: "Cost per license / month", num: true }, { title: "Utilisation", num: true }],
        rows: paying.map((a) => [a.name, cash(a.spend.per_month, a.spend.currency), cash(a.spend.per_year, a.spend.currency), cash(a.cost_per_license.per_month, a.cost_per_license.currency), utilisation(a.utilisation)]),
      },
    ),
  );
}

function spendGroupsPanel(o) {
  const groupTable = (title, column, groups, none) =>
    table(
      [{ title: column }, { title: "Applications", num: true }, { title: "Spend / month", num: true }, { title: "Spend / year", num: true }],
      groups.map((g) => [g.name === null ? none : g.name, count(g.applications), amounts(g.spend), amounts(g.spend, "per_year")]),
      title,
    );
  return panel(
    "Spend by cost center and vendor",
    h("h3", {}, "By cost center"),
    groupTable("Spend by cost center", "Cost center", o.spend_by_cost_center, "No cost center"),
    h("h3", {}, "By vendor"),
    groupTable("Spend by vendor", "Vendor", o.spend_by_vendor, ""),
  );
}

// Downloads a CSV from the API: fetched with the token (a plain link would carry none), then saved.
function download(path, filename, title) {
  const button = h("button", { class: "download", "data-download": path }, title);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const answer = await fetch(API + path, { headers: { Authorization: `Bearer ${session.token}` } });
      if (!answer.ok) throw new Error(`The download failed (${answer.status}).`);
      const link = h("a", { href: URL.createObjectURL(await answer.blob()), download: filename });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (error) {
      toast(error.message);
    }
    button.disabled = false;
  });
  return h("div", { class: "actions" }, button);
}

function applicationsTable(applications) {
  if (!applications.length) {
    return h("p", {}, "No applications yet. ", can.write() ? h("a", { href: "#/new" }, "Add the first one from a template.") : "An integrator adds them.");
  }
  return table(
    [
      { title: "Application" },
      { title: "Position" },
      { title: "Purchased", num: true },
      { title: "Assigned", num: true },
      { title: "Active", num: true },
      { title: "Stale", num: true },
      { title: "Utilisation", num: true },
      { title: "Cost per license / month", num: true },
      { title: "Spend / month", num: true },
      { title: "Potential savings / month", num: true },
      { title: "Cost center" },
      { title: "Reconciled" },
    ],
    applications.map((a) => {
      const p = a.latest;
      const link = h("a", { href: `#/apps/${a.profile_id}`, "data-profile": a.profile_id }, a.name);
      const price = cash(a.cost_per_license.per_month, a.cost_per_license.currency);
      if (!p) return [link, h("span", { class: "sub" }, "not reconciled yet"), "", "", "", "", "", price, "", "", a.cost_center || "", ""];
      const savings = p.potential_savings;
      return [
        link,
        badge(p.position),
        count(p.licenses_purchased),
        count(p.assigned),
        count(p.active),
        count(p.stale),
        utilisation(a.utilisation),
        price,
        cash(a.spend.per_month, a.spend.currency),
        cash(savings.amount / MONTHS[savings.period], savings.currency),
        a.cost_center || "",
        day(p.reconciled_at),
      ];
    }),
    "Applications and their latest positions",
    { stack: true },
  );
}

// The next opt-out deadlines, where people look for money: the Renewals view has the whole year.
function renewalsPanel(items) {
  if (!items.length) return null;
  const yearly = (r, amount) => (amount == null ? "–" : money({ amount, currency: r.currency, period: "annual" }));
  return panel(
    "Next renewals",
    h("p", { class: "sub" }, "Opt-out deadlines in the next 120 days. ", h("a", { href: "#/renewals" }, "All renewals")),
    table(
      [{ title: "Application" }, { title: "Opt-out by" }, { title: "Days left", num: true }, { title: "Annual cost", num: true }, { title: "Recommended", num: true }],
      items.slice(0, 5).map((r) => [
        h("a", { href: `#/apps/${r.profile_id}` }, r.name),
        day(r.opt_out_deadline),
        count(r.days_to_deadline),
        yearly(r, r.annual_cost),
        r.recommended_licenses == null ? "–" : count(r.recommended_licenses),
      ]),
      "Next renewals",
    ),
  );
}

function waitingPanel(items, names) {
  if (!items.length) return null;
  return panel(
    "Waiting for approval",
    h("p", { class: "sub" }, can.approve() ? "Real reclamations that went over a safety cap: review, then approve." : "Real reclamations that went over a safety cap: an admin approves them."),
    table(
      [{ title: "Application" }, { title: "Users", num: true }, { title: "Why it waits" }, { title: "Planned" }, { title: "" }],
      items.map((r) => [
        h("a", { href: `#/apps/${r.profile_id}` }, names[r.profile_id] || r.profile_id),
        count(r.candidates),
        r.approval_reason || "",
        when(r.created_at),
        h("div", { class: "actions" }, approveButton(r), withdrawControl(r)),
      ]),
      "Reclamations waiting for approval",
      { stack: true },
    ),
  );
}

function approveButton(reclamation) {
  if (!can.approve() || reclamation.status !== "awaiting_approval") return "";
  const button = h("button", { class: "danger", "data-approve": reclamation.id }, "Approve");
  button.addEventListener("click", async () => {
    if (!button.dataset.armed) return armApproval(button, reclamation);
    if (!dataLossConfirmed(button)) return;
    button.disabled = true;
    try {
      await call(`/reclamations/${reclamation.id}/approve`, { method: "POST" });
      toast("Approved: the reclamation is running.");
      route();
    } catch (error) {
      button.disabled = false;
      toast(error.message);
    }
  });
  return button;
}

// --- a plan's warnings: what approving it costs besides the seats ----------------------------------

// A list gives the number of candidates, a plan read in full the candidates themselves.
function candidateCount(reclamation) {
  return Array.isArray(reclamation.candidates) ? reclamation.candidates.length : reclamation.candidates;
}

// Above the approval: the plan's warnings and why a real run waits, as text (they are the API's words).
function planWarnings(reclamation) {
  const warnings = reclamation.warnings || [];
  const waits = reclamation.status === "awaiting_approval" ? reclamation.approval_reason : null;
  if (!warnings.length && !waits) return null;
  return h(
    "div",
    { class: "callout bad", role: "note", "data-plan-warnings": reclamation.id },
    h("strong", {}, warnings.length ? "Before you approve, this plan warns:" : "Before you approve:"),
    waits ? h("p", { "data-approval-reason": "" }, `It waits for an admin because ${waits}.`) : null,
    warnings.length ? h("ul", {}, warnings.map((w) => h("li", { "data-warning": w === reclamation.data_loss ? "loses-data" : "other" }, w))) : null,
  );
}

// The review's own Approve, under the warnings the admin has just read.
function reviewApproval(reclamation) {
  const warnings = planWarnings(reclamation);
  const approve = reclamation.status === "awaiting_approval" && can.approve() ? approveButton(reclamation) : "";
  if (approve) approve.dataset.approveReviewed = approve.dataset.approve;
  if (approve) delete approve.dataset.approve;
  return warnings || approve ? h("div", { class: "plan-approval" }, warnings, approve ? h("div", { class: "actions" }, approve) : null) : null;
}

// The confirm step of an approval. When the plan loses data, a checkbox naming that loss, beside the
// button, which the second click needs ticked. A list's summary does not say (its plan's data_loss is
// absent, not null): the plan is read in full, and the button stays disabled meanwhile (a quick second
// click would approve unread).
async function armApproval(button, reclamation) {
  let loss = reclamation.data_loss;
  if (loss === undefined) {
    button.disabled = true;
    try {
      loss = (await call(`/reclamations/${reclamation.id}`)).data_loss;
    } catch (error) {
      toast(error.message);
      return;
    } finally {
      button.disabled = false;
    }
  }
  button.dataset.armed = "yes";
  button.textContent = `Confirm: reclaim ${count(candidateCount(reclamation))} licenses`;
  if (!loss) return button.focus(); // a disabled button lost the focus its click gave it
  const box = h("input", { type: "checkbox", "data-confirm-loss": reclamation.id });
  button.before(h("label", { class: "confirm-loss" }, box, ` I understand: ${loss}`));
  box.focus();
}

function dataLossConfirmed(button) {
  const box = button.parentElement?.querySelector("[data-confirm-loss]");
  if (!box || box.checked) return true;
  toast("Tick the box first: approving this plan loses the users' data.");
  box.focus();
  return false;
}

// An admin's no: reject a plan awaiting approval, cancel one in its grace period. The first click
// asks why (the reason goes to the audit trail), the second sends it.
const WITHDRAW = {
  awaiting_approval: { action: "reject", button: "Reject", confirm: "Confirm: reject", done: "Rejected: nothing will be reclaimed." },
  in_grace_period: { action: "cancel", button: "Cancel", confirm: "Confirm: cancel", done: "Canceled: keep links withdrawn, nothing more is reclaimed." },
};

function withdrawControl(reclamation) {
  const way = WITHDRAW[reclamation.status];
  if (!can.approve() || !way) return "";
  const reason = h("input", { type: "text", maxlength: 500, required: true, placeholder: "Why?", "aria-label": `Why ${way.action} this reclamation`, "data-withdraw-reason": reclamation.id });
  const form = h("span", { class: "withdraw", hidden: true }, reason);
  const button = h("button", { type: "button", "data-withdraw": reclamation.id }, way.button);
  button.addEventListener("click", async () => {
    if (form.hidden) {
      form.hidden = false;
      button.textContent = way.confirm;
      reason.focus();
      return;
    }
    if (!reason.value.trim()) {
      toast("Say why: the reason goes to the audit trail.");
      reason.focus();
      return;
    }
    button.disabled = true;
    try {
      await call(`/reclamations/${reclamation.id}/${way.action}`, { method: "POST", body: { reason: reason.value.trim() } });
      toast(way.done);
      route();
    } catch (error) {
      button.disabled = false;
      toast(error.message);
    }
  });
  return h("span", { class: "withdraw-control" }, form, button);
}

// --- one application ----------------------------------------------------------------------------

const USER_COLUMNS = [
  ["name", "Name"],
  ["email", "Email"],
  ["role", "Role", false],
  ["status", "Status", false],
  ["last_activity", "Last activity"],
];

// --- seats taken back: one word per status, and the reclaims an app accepted without carrying out ---

// The users list's statuses (GET /profiles/{id}/users?status=): "reclaimed" is seatkeeper's doing, "inactive" the app's.
const USER_STATUSES = [
  ["", "All"],
  ["active", "Active"],
  ["stale", "Stale"],
  ["unknown", "Unknown"],
  ["inactive", "Without a license"],
  ["reclaimed", "Reclaimed"],
  ["not_effective", "Reclaim not effective"],
];

function userStatusCell(u) {
  const status = u.status || (u.stale ? "stale" : u.active ? "active" : "inactive");
  const taken = u.reclaimed_at && (status === "reclaimed" || status === "not_effective");
  return h("td", { "data-label": "Status", "data-status": status }, badge(status), taken ? h("div", { class: "hint" }, `reclaimed ${day(u.reclaimed_at)}`) : null);
}

// Seats whose reclaim the app accepted and the next sync still found held: seatkeeper never sends those
// again by itself, so an admin is shown them here. Nothing at all when there are none.
function needsAttentionPanel(profileId) {
  const box = h("div", { id: "needs-attention" });
  call(`/profiles/${profileId}/users?status=not_effective&sort=id&limit=100`)
    .then((page) => {
      if (!page.items.length) return;
      fill(
        box,
        h(
          "section",
          { class: "panel callout bad", role: "status", "aria-labelledby": "h-needs-attention" },
          h("h2", { id: "h-needs-attention" }, `Needs attention: ${count(page.items.length)} ${page.items.length === 1 ? "seat" : "seats"} still held after a reclaim`),
          h("p", { class: "sub" }, "The app accepted the reclaim, and its next sync still lists the seat. seatkeeper will not send it again by itself: take the seat back in the app (the next sync sees it), or name the user in a new plan, which waits for an admin's approval."),
          h(
            "ul",
            {},
            page.items.map((u) => h("li", { "data-attention": u.id }, h("b", {}, u.name || u.id), u.email ? ` <${u.email}>` : "", ` · reclaimed ${day(u.reclaimed_at)}`, u.reclamation_id ? ` · ${u.reclamation_id}` : "")),
          ),
        ),
      );
    })
    .catch(() => {});
  return box;
}

async function applicationView(main, profileId) {
  const profile = await call(`/profiles/${profileId}`);
  const optional = (promise) => promise.catch((error) => (error.status === 404 ? null : Promise.reject(error)));
  const [connection, position, snapshot, history, reclamations, deliveries] = await Promise.all([
    optional(call(`/profiles/${profileId}/connection`)),
    optional(call(`/profiles/${profileId}/position`)),
    optional(call(`/profiles/${profileId}/snapshot`)),
    call(`/profiles/${profileId}/positions?limit=90`),
    call(`/profiles/${profileId}/reclamations?limit=20`),
    // Who was told what names people's addresses: admins only (GET /notifications).
    can.approve() ? call(`/notifications?profile_id=${encodeURIComponent(profileId)}&limit=20`) : null,
  ]);
  const status = connection ? connection.status : "not_connected";
  const tracked = Boolean(profile.users.fields.last_activity || profile.activity);
  fill(main, 
    h("p", {}, h("a", { href: "#/" }, "← Overview")),
    h("h1", {}, profile.name),
    h("p", { class: "sub" }, `${profile.template || "custom profile"} · ${profile.base_url} · `, badge(status), connection && connection.error ? ` ${connection.error}` : ""),
    reconnectBanner(profile, connection),
    applicationActions(profile, connection, position),
    syncProgress(profileId),
    h(
      "div",
      { class: "grid" },
      panel(
        "License position",
        position ? positionFigures(position, tracked) : h("p", {}, "Not reconciled yet."),
      ),
      panel(
        "Last sync and reconciliation",
        h(
          "dl",
          { class: "figures facts" },
          figure("last_sync", "Last sync", snapshot ? when(snapshot.synced_at) : "never", snapshot ? `${count(snapshot.users)} users` : null),
          figure("last_reconciliation", "Last reconciliation", position ? when(position.reconciled_at) : "never"),
          inactivityWindow(profile),
        ),
        syncWarnings(snapshot),
        lineChart("Stale seats, last positions", history.items.slice().reverse().map((p) => ({ ...p, date: p.reconciled_at })), (p) => p.stale, count, {
          unit: "seats",
          integer: true,
          caption: "Stale seats at each reconciliation; the last point is the position on the left.",
        }),
      ),
    ),
    needsAttentionPanel(profileId),
    usersPanel(profileId, tracked),
    reclamationsPanel(reclamations.items),
    deliveries ? notificationsPanel(deliveries.items) : "",
  );
}

// A refused OAuth grant stops syncs and reclaims until someone grants access again: said first, with the way out.
function reconnectBanner(profile, connection) {
  if (!connection || connection.status !== "needs_reconnect") return null;
  const banner = h(
    "div",
    { class: "callout bad", role: "alert", id: "reconnect-banner" },
    h("strong", {}, "Reconnect needed. "),
    "The app's authorization server refused seatkeeper's grant (it expired or was revoked): syncs stop and nothing is reclaimed until access is granted again. ",
  );
  if (!can.write()) {
    banner.append("Ask someone who may connect applications to reconnect it.");
    return banner;
  }
  const progress = h("span", { "data-progress": "" });
  const button = h("button", { class: "primary", id: "reconnect" }, "Reconnect");
  button.onclick = async () => {
    button.disabled = true;
    try {
      await call(`/profiles/${profile.id}/connection/reconnect`, { method: "POST" });
      await followReconnect(profile.id, progress);
    } catch (error) {
      toast(error.message);
    }
    button.disabled = false;
  };
  banner.append(button, " ", progress);
  return banner;
}

// The reconnect is the connection saga again: wait for its authorize URL and send the person there.
async function followReconnect(profileId, progress) {
  fill(progress, "Starting a new authorization…");
  for (let i = 0; i < 60; i++) {
    const state = await call(`/profiles/${profileId}/connection`).catch(() => null);
    // The API only gives out http(s) authorize URLs; the page goes nowhere else whatever it is told.
    if (state && state.status === "awaiting_grant" && /^https?:\/\//i.test(state.authorize_url || "")) {
      fill(progress, "Taking you to the app to grant access… ", h("a", { href: state.authorize_url }, "Continue"));
      location.assign(state.authorize_url);
      return;
    }
    if (state && state.status === "failed") {
      fill(progress, `The reconnect failed: ${state.error || "unknown error"}.`);
      return;
    }
    await new Promise((done) => setTimeout(done, 500));
  }
  fill(progress, "Still starting; reload the page in a moment.");
}

// A running sync's progress (GET /profiles/{id}/sync): pages and users so far and the pace it holds,
// asked again every SYNC_POLL_MS while it runs; the page shows the new snapshot once it ends.
const SYNC_POLL_MS = 1000;

function syncProgress(profileId) {
  const element = h("p", { id: "sync-progress", class: "sub", role: "status", "aria-live": "polite" });
  followSync(element, profileId);
  return element;
}

function syncProgressText(run) {
  const users = run.users_expected ? `${count(run.users_fetched)} of ${count(run.users_expected)} users` : `${count(run.users_fetched)} users`;
  const pace = run.pace_per_second ? `, ${run.pace_per_second} requests a second` : "";
  const quota = run.refused || run.quota_wait_seconds ? ` · ${count(run.refused || 0)} refused, ${run.quota_wait_seconds || 0} s waiting for the app's quota` : "";
  return `Syncing: ${count(run.pages)} pages, ${users} so far${pace}${quota}`;
}

async function followSync(element, profileId) {
  if (!element || element.dataset.following) return;
  element.dataset.following = "yes";
  let followed = false;
  try {
    for (;;) {
      // Asked after the page is drawn (call() is asynchronous): a page left behind stops asking.
      const run = await call(`/profiles/${profileId}/sync`).catch(() => null);
      if (!element.isConnected) return;
      if (!run || run.status !== "running") {
        fill(element);
        if (followed && run) {
          toast(`Sync ${label(run.status)}: ${count(run.users_fetched)} users.`);
          if (location.hash === `#/apps/${profileId}`) route();
        }
        return;
      }
      followed = true;
      element.dataset.runId = run.run_id;
      fill(element, syncProgressText(run));
      await new Promise((done) => setTimeout(done, SYNC_POLL_MS));
    }
  } finally {
    delete element.dataset.following;
  }
}

// The last messages about this application: keep prompts, approval requests, reminders, and what became of each.
function notificationsPanel(items) {
  if (!items.length) return panel("Notifications", h("p", { class: "sub" }, "Nobody was told anything yet."));
  return panel(
    "Notifications",
    h("p", { class: "sub" }, "The last 20 messages about this application, newest first."),
    table(
      [{ title: "When" }, { title: "Message" }, { title: "Channel" }, { title: "To" }, { title: "Status" }, { title: "Tries", num: true }],
      items.map((d) => [
        when(d.sent_at || d.created_at),
        d.kind.replaceAll("_", " "),
        d.channel,
        d.recipient || "–",
        h("span", { "data-delivery": d.id }, badge(d.status), d.reason ? h("div", { class: "hint" }, d.reason) : null),
        count(d.attempts),
      ]),
      "Notifications",
      { stack: true },
    ),
  );
}

// What the last sync found wrong with the profile: said where the person looks first, not only in the run.
function syncWarnings(snapshot) {
  const warnings = (snapshot && snapshot.warnings) || [];
  if (!warnings.length) return null;
  return h(
    "div",
    { class: "callout bad", role: "status", id: "sync-warnings" },
    h("strong", {}, warnings.some((w) => w.blocks_inactivity) ? "The last sync warns (removals by inactivity are refused):" : "The last sync warns:"),
    h("ul", {}, warnings.map((w) => h("li", {}, w.message))),
  );
}

// Counts in small boxes, money in boxes twice as wide: the card fills its rows on a laptop and a phone.
function inactivityWindow(profile) {
  const days = profile.policy && profile.policy.inactivity_days;
  return figure("inactivity_window", "Inactivity window", days ? `${count(days)} days` : "–", "stale: assigned, no activity for longer");
}

function positionFigures(position, tracked = true) {
  const rate = (amount) => ({ currency: amount.currency, per_month: amount.amount / MONTHS[amount.period], per_year: (amount.amount * 12) / MONTHS[amount.period] });
  const wide = (element) => {
    element.classList.add("wide");
    return element;
  };
  const price = rate({ ...position.spend, amount: position.licenses_purchased ? position.spend.amount / position.licenses_purchased : 0 });
  const savings = rate(position.potential_savings);
  return h(
    "dl",
    { class: "figures position" },
    figure("app_position", "Position", badge(position.position)),
    figure("app_purchased", "Purchased", count(position.licenses_purchased)),
    figure("app_assigned", "Assigned", count(position.assigned)),
    figure("app_unassigned", "Unassigned", count(position.unused), position.taken_back ? `${count(position.taken_back)} taken back` : null),
    figure("app_active", "Active", count(position.active)),
    figure("app_stale", "Stale", count(position.stale)),
    figure("app_utilisation", "Utilisation", !tracked ? "unknown" : position.licenses_purchased ? percent((100 * position.active) / position.licenses_purchased) : "–", tracked ? "active ÷ purchased" : "the app reports no activity"),
    figure("app_cost_per_license", "Per license", position.licenses_purchased ? monthly([price]) : "–"),
    wide(figure("app_spend", "Spend", monthly([rate(position.spend)]), perYear([rate(position.spend)]))),
    wide(figure("app_savings", "Potential savings", monthly([savings]), perYear([savings]), "money")),
    position.true_up_cost.amount ? wide(figure("app_true_up", "True-up cost", monthly([rate(position.true_up_cost)]), perYear([rate(position.true_up_cost)]), "warn")) : null,
  );
}

function applicationActions(profile, connection, position) {
  if (!can.write()) return null;
  const connected = connection && connection.status === "connected";
  const act = (name, work) =>
    h("button", {
      onclick: async (event) => {
        event.target.disabled = true;
        try {
          toast(await work());
        } catch (error) {
          toast(error.message);
        }
        event.target.disabled = false;
      },
    }, name);
  const buttons = [];
  if (!connection || connection.status === "failed") buttons.push(h("a", { class: "button primary", href: `#/apps/${profile.id}/connect` }, "Connect"));
  if (connected) {
    buttons.push(
      act("Sync now", async () => {
        const run = await call(`/profiles/${profile.id}/sync`, { method: "POST" });
        followSync(document.getElementById("sync-progress"), profile.id);
        return `Sync ${run.run_id} started.`;
      }),
      act("Reconcile now", async () => {
        const started = await call("/reconciliations", { method: "POST", body: { profile_ids: [profile.id] } });
        watchReconciliation(started.id, profile.id);
        return "Reconciliation started: this page refreshes when it is done.";
      }),
      act("Plan a reclamation (dry run)", async () => {
        const plan = await call(`/profiles/${profile.id}/reclamations`, { method: "POST", body: { dry_run: true } });
        route();
        return `Planned: ${plan.candidates.length} candidates, nothing sent.`;
      }),
    );
    if (profile.reclaim) {
      buttons.push(
        act("Reclaim stale licenses", async () => {
          const plan = await call(`/profiles/${profile.id}/reclamations`, { method: "POST", body: { dry_run: false } });
          route();
          return plan.status === "awaiting_approval" ? `Waiting for an admin: ${plan.approval_reason}` : `Reclaiming ${plan.candidates.length} licenses.`;
        }),
      );
    }
  }
  return h("div", { class: "actions" }, buttons);
}

async function watchReconciliation(id, profileId) {
  for (let i = 0; i < 120; i++) {
    await new Promise((done) => setTimeout(done, 1500));
    const record = await call(`/reconciliations/${id}`).catch(() => null);
    if (record && record.status !== "running") {
      if (location.hash === `#/apps/${profileId}`) route();
      toast(`Reconciliation ${label(record.status)}.`);
      return;
    }
  }
}

function usersPanel(profileId, tracked) {
  // sort null: the API's default order (by name; by id for an app too large to sort), which each page names.
  const state = { status: "", sort: null, order: "asc", cursors: [null], page: 0 };
  const body = h("div", {}, h("p", { class: "loading" }, "Loading users…"));
  const filter = h(
    "select",
    { id: "user-status" },
    USER_STATUSES.map(([v, t]) => h("option", { value: v }, t)),
  );
  filter.addEventListener("change", () => {
    Object.assign(state, { status: filter.value, cursors: [null], page: 0 });
    load();
  });

  let asked = 0;
  async function load() {
    // Only the list asked for last is shown: an earlier, slower answer must not replace it.
    const mine = ++asked;
    const query = new URLSearchParams({ limit: "25", order: state.order });
    if (state.sort) query.set("sort", state.sort);
    if (state.status) query.set("status", state.status);
    const cursor = state.cursors[state.page];
    if (cursor) query.set("cursor", cursor);
    let page;
    try {
      page = await call(`/profiles/${profileId}/users?${query}`);
    } catch (error) {
      if (mine === asked) fill(body, h("p", { class: "error" }, error.status === 404 ? "Not synced yet." : error.message));
      return;
    }
    if (mine !== asked) return;
    state.cursors[state.page + 1] = page.next_cursor;
    Object.assign(state, { sort: page.sort, order: page.order });
    const header = USER_COLUMNS.map(([key, title, sortable = true]) => {
      const sorted = state.sort === key ? (state.order === "asc" ? "ascending" : "descending") : null;
      // The arrow shows the order; screen readers get it from aria-sort, so the arrow is hidden from them.
      const arrow = h("span", { class: "arrow", "aria-hidden": "true" }, sorted === "ascending" ? "▲" : sorted === "descending" ? "▼" : "↕");
      const content = sortable
        ? h("button", {
            class: "sort",
            "data-sort": key,
            title: `Sort by ${title.toLowerCase()}`,
            onclick: () => {
              const order = state.sort === key && state.order === "asc" ? "desc" : "asc";
              Object.assign(state, { sort: key, order, cursors: [null], page: 0 });
              load().then(() => body.querySelector(`[data-sort=${key}]`)?.focus());
            },
          }, title, arrow)
        : title;
      return h("th", { scope: "col", "aria-sort": sorted, class: key === "role" ? "hide-narrow" : "" }, content);
    });
    const rows = page.items.map((u) =>
      h(
        "tr",
        { "data-user": u.id },
        h("td", { "data-label": "Name" }, u.name || u.id),
        h("td", { "data-label": "Email" }, u.email || ""),
        // A user of a more list of seat holders (users.also: GitHub's outside collaborators) says which.
        h("td", { class: "hide-narrow", "data-label": "Role" }, u.role || "", u.kind ? h("span", { class: "sub", "data-kind": u.kind }, ` · ${u.kind.replaceAll("_", " ")}`) : null),
        userStatusCell(u),
        h("td", { class: "when", "data-label": "Last activity" }, u.last_activity ? when(u.last_activity) : tracked ? NEVER : NO_DATA),
      ),
    );
    const previous = h("button", { disabled: state.page === 0, onclick: () => { state.page--; load(); } }, "Previous");
    const next = h("button", { disabled: !page.next_cursor, onclick: () => { state.page++; load(); } }, "Next");
    fill(body, 
      h(
        "div",
        { class: "scroll", tabindex: 0, role: "region", "aria-label": "Users" },
        // data-view says which list is shown (for tests, and for anyone reading the page's source).
        h("table", { "aria-label": "Users", class: "stack sortable", "data-view": `${state.status || "all"} ${state.sort} ${state.order} ${state.page + 1}` }, h("thead", {}, h("tr", {}, header)), h("tbody", {}, rows)),
      ),
      page.items.length ? null : h("p", { class: "sub" }, "No users in this view."),
      h("div", { class: "pager" }, previous, h("span", { "aria-live": "polite", "data-figure": "user_page" }, `Page ${state.page + 1}`), next),
    );
  }
  load();
  const csv = download(`/profiles/${profileId}/users.csv`, `${profileId}-users.csv`, "Download every user as CSV");
  return panel("Users", h("div", { class: "toolbar" }, h("div", {}, h("label", { for: "user-status" }, "Show"), filter), csv), body);
}

function reclamationsPanel(items) {
  if (!items.length) return panel("Reclamations", h("p", { class: "sub" }, "None yet."));
  return panel(
    "Reclamations",
    h(
      "div",
      { class: "scroll", tabindex: 0, role: "region", "aria-label": "Reclamations" },
      h(
        "table",
        { "aria-label": "Reclamations", class: "stack" },
        h("thead", {}, h("tr", {}, ["Planned", "Status", "Kind", "Users", "Reclaimed", "Saved", ""].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          items.map((r) => {
            const details = h("tr", { hidden: true }, h("td", { colspan: 7 }));
            const toggle = h("button", { "aria-expanded": "false", "data-audit": r.id }, "Audit trail");
            toggle.addEventListener("click", async () => {
              const open = toggle.getAttribute("aria-expanded") === "true";
              toggle.setAttribute("aria-expanded", String(!open));
              details.hidden = open;
              if (!open) fill(details.firstChild, auditTrail(await call(`/reclamations/${r.id}`)));
            });
            const review = reviewToggle(r, details, toggle);
            return [
              h(
                "tr",
                { "data-reclamation": r.id },
                h("td", { "data-label": "Planned" }, when(r.created_at)),
                h("td", { "data-label": "Status" }, badge(r.status), r.approval_reason ? h("div", { class: "hint" }, r.approval_reason) : null),
                h("td", { "data-label": "Kind" }, r.dry_run ? "dry run" : "real run"),
                h("td", { class: "num", "data-label": "Users" }, count(r.candidates)),
                h("td", { class: "num", "data-label": "Reclaimed" }, count(r.reclaimed)),
                h("td", { "data-label": "Saved" }, savedFrom(r)),
                h("td", {}, h("div", { class: "actions" }, review, toggle, approveButton(r), withdrawControl(r))),
              ),
              details,
            ];
          }),
        ),
      ),
    ),
  );
}

// What a finished reclamation saves, and from when: its app's next bill after it finished.
function savedFrom(r) {
  if (!(r.savings && (r.reclaimed || r.downgraded))) return "–";
  const from = r.saving_starts_on
    ? `from ${new Date(`${r.saving_starts_on}T00:00:00Z`).toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" })}`
    : "from the next bill (no renewal date)";
  return h("span", { "data-saving-starts": r.saving_starts_on || "unknown" }, money(r.savings), h("div", { class: "hint" }, from));
}

// --- the review: who exactly a plan takes back, and why --------------------------------------------

function reviewToggle(summary, details, auditToggle) {
  const button = h("button", { "aria-expanded": "false", "data-review": summary.id }, `Review ${count(summary.candidates)} users`);
  button.addEventListener("click", async () => {
    const open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", String(!open));
    auditToggle.setAttribute("aria-expanded", "false");
    details.hidden = open;
    if (!open) fill(details.firstChild, candidatesReview(await call(`/reclamations/${summary.id}`)));
  });
  return button;
}

const CANDIDATE_COLUMNS = [
  ["name", "Name"],
  ["email", "Email"],
  ["last_activity", "Last activity"],
  ["role", "Role"],
  ["tier", "Tier"],
  ["saves", "Cost", true],
  ["why", "Why a candidate"],
  ["answer", "Keep answer"],
];
const REVIEW_PAGE = 25;

function candidatesReview(reclamation) {
  const answers = Object.fromEntries((reclamation.decisions || []).map((d) => [d.user_id, d.status]));
  const outcomes = Object.fromEntries((reclamation.outcomes || []).map((o) => [o.user_id, o.outcome]));
  const cost = reclamation.seat_cost;
  const rows = reclamation.candidates.map((c) => ({
    ...c,
    name: c.name || c.id,
    saves: c.saves ?? (cost ? cost.amount : null),
    answer: answers[c.id] || outcomes[c.id] || "",
  }));
  const state = { sort: "last_activity", order: "asc", page: 0, text: "" };
  const search = h("input", { type: "search", placeholder: "Name, e-mail, role, why…", "aria-label": "Filter the candidates", "data-review-filter": reclamation.id });
  search.addEventListener("input", () => {
    Object.assign(state, { text: search.value.trim().toLowerCase(), page: 0 });
    show();
  });
  const body = h("div", {});
  const waiting = reclamation.status === "awaiting_approval" && can.approve();

  function show() {
    const shown = rows
      .filter((c) => !state.text || [c.name, c.email, c.role, c.tier, c.why, c.answer].some((v) => v && String(v).toLowerCase().includes(state.text)))
      .sort((a, b) => {
        const [x, y] = [a[state.sort], b[state.sort]];
        const order = x == null ? (y == null ? 0 : -1) : y == null ? 1 : typeof x === "number" ? x - y : String(x).localeCompare(String(y));
        return state.order === "asc" ? order : -order;
      });
    const pages = Math.max(1, Math.ceil(shown.length / REVIEW_PAGE));
    state.page = Math.min(state.page, pages - 1);
    const header = CANDIDATE_COLUMNS.map(([key, title, num]) => {
      const sorted = state.sort === key ? (state.order === "asc" ? "ascending" : "descending") : null;
      const arrow = h("span", { class: "arrow", "aria-hidden": "true" }, sorted === "ascending" ? "▲" : sorted === "descending" ? "▼" : "↕");
      const sort = h("button", { class: "sort", "data-review-sort": key, title: `Sort by ${title.toLowerCase()}` }, title, arrow);
      sort.addEventListener("click", () => {
        Object.assign(state, { order: state.sort === key && state.order === "asc" ? "desc" : "asc", sort: key, page: 0 });
        show();
        body.querySelector(`[data-review-sort=${key}]`)?.focus();
      });
      return h("th", { scope: "col", "aria-sort": sorted, class: num ? "num" : "" }, sort);
    });
    if (waiting) header.push(h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Exclude")));
    const page = shown.slice(state.page * REVIEW_PAGE, (state.page + 1) * REVIEW_PAGE);
    const lines = page.map((c) =>
      h(
        "tr",
        { "data-candidate": c.id },
        h("td", { "data-label": "Name" }, c.name),
        h("td", { "data-label": "Email" }, c.email || ""),
        h("td", { class: "when", "data-label": "Last activity" }, c.last_activity ? `${when(c.last_activity)} (${c.activity_source === "idp" ? "IdP sign-in" : "in the app"})` : NEVER),
        h("td", { "data-label": "Role" }, c.role || ""),
        h("td", { "data-label": "Tier" }, c.tier || ""),
        h("td", { class: "num", "data-label": "Cost" }, c.saves == null || !cost ? "–" : money({ ...cost, amount: c.saves })),
        h("td", { "data-label": "Why a candidate" }, c.why || ""),
        h("td", { "data-label": "Keep answer" }, c.answer ? badge(c.answer) : ""),
        waiting ? h("td", {}, excludeButton(reclamation, c)) : null,
      ),
    );
    const previous = h("button", { disabled: state.page === 0, onclick: () => { state.page--; show(); } }, "Previous");
    const next = h("button", { disabled: state.page >= pages - 1, onclick: () => { state.page++; show(); } }, "Next");
    fill(
      body,
      h(
        "div",
        { class: "scroll", tabindex: 0, role: "region", "aria-label": "Candidates" },
        h("table", { "aria-label": "Candidates", class: "stack sortable", "data-view": `${state.sort} ${state.order} ${state.page + 1}` }, h("thead", {}, h("tr", {}, header)), h("tbody", {}, lines)),
      ),
      shown.length ? null : h("p", { class: "sub" }, "No candidate matches."),
      h("div", { class: "pager" }, previous, h("span", { "aria-live": "polite", "data-figure": "candidate_page" }, `Page ${state.page + 1} of ${pages} · ${count(shown.length)} of ${count(rows.length)} users`), next),
    );
  }
  show();
  const csv = download(`/reclamations/${reclamation.id}/candidates.csv`, `${reclamation.id}-candidates.csv`, "Download the candidates as CSV");
  return h("div", { "data-review-of": reclamation.id }, h("h3", {}, `Who this plan takes back (${label(reclamation.status)})`), reviewApproval(reclamation), h("div", { class: "toolbar" }, search, csv), body);
}

function excludeButton(reclamation, candidate) {
  const button = h("button", { type: "button", "data-exclude": candidate.id }, "Exclude");
  button.addEventListener("click", async () => {
    // The confirm step: a prompt for the reason, which goes to the audit trail.
    const reason = window.prompt(`Why keep ${candidate.email || candidate.name || candidate.id} out of this plan? Their seat is kept.`);
    if (!reason || !reason.trim()) return;
    button.disabled = true;
    try {
      await call(`/reclamations/${reclamation.id}/exclusions`, { method: "POST", body: { user_id: candidate.id, reason: reason.trim() } });
      toast(`Excluded ${candidate.email || candidate.id}: their seat is kept.`);
      route();
    } catch (error) {
      button.disabled = false;
      toast(error.message);
    }
  });
  return button;
}

function auditTrail(reclamation) {
  return h(
    "div",
    {},
    h("h3", {}, "Audit trail"),
    table(
      [{ title: "When" }, { title: "What" }, { title: "By" }, { title: "User" }, { title: "Outcome" }, { title: "Detail" }],
      reclamation.audit.map((e) => [when(e.at), e.action, e.by || "", e.user_id || "", e.outcome ? badge(e.outcome) : "", [e.request, e.status_code, e.detail].filter(Boolean).join(" · ")]),
      "Audit trail",
      { stack: true },
    ),
  );
}

// --- adding an application: a template, a profile, a connection ---------------------------------

async function newApplicationView(main) {
  if (!can.write()) return fill(main, h("h1", {}, "Add an application"), h("p", {}, "Adding applications needs the admin or sam_integrator role."));
  const templates = (await call("/templates")).items;
  const custom = () => h("option", { value: CUSTOM }, "Custom application (write its profile)");
  const choice = h("select", { id: "template" }, [...templates.map((t) => h("option", { value: t.name }, t.title)), custom()]);
  const search = h("input", { id: "template-search", type: "search", autocomplete: "off", "aria-controls": "template", "aria-describedby": "template-matches" });
  const matches = h("p", { class: "hint", id: "template-matches", "aria-live": "polite" });
  const form = h("div", {});
  const show = () => {
    const template = templates.find((t) => t.name === choice.value);
    if (template) fill(form, templateForm(template));
    else if (choice.value === CUSTOM) fill(form, customForm(templates));
    else fill(form);
  };
  // A text filter over the catalog: title, name, description and what each template can do.
  const searchable = (t) => [t.title, t.name, t.description, ...Object.keys(t.capabilities || {}).filter((c) => t.capabilities[c])].join(" ").toLowerCase();
  const filter = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = templates.filter((t) => words.every((w) => searchable(t).includes(w)));
    const before = choice.value;
    // The custom entry stays while nothing is searched for, or the search asks for it.
    const withCustom = words.every((w) => "custom application".includes(w));
    fill(choice, [...shown.map((t) => h("option", { value: t.name }, t.title)), withCustom ? custom() : null]);
    if (shown.some((t) => t.name === before)) choice.value = before;
    matches.textContent = words.length ? `${shown.length} of ${templates.length} templates match` : "";
    if (choice.value !== before || !shown.length) show();
  };
  search.addEventListener("input", filter);
  choice.addEventListener("change", show);
  fill(main, 
    h("p", {}, h("a", { href: "#/" }, "← Overview")),
    h("h1", {}, "Add an application"),
    h("p", { class: "sub" }, "Start from a configuration template, say what you pay, and connect: seatkeeper keeps the credential in AWS Secrets Manager only."),
    h("div", { class: "field" }, h("label", { for: "template-search" }, "Search the catalog"), search, matches),
    h("div", { class: "field" }, h("label", { for: "template" }, "Template"), choice),
    form,
  );
  show();
}

const CUSTOM = "__custom__";

// A profile written by hand: JSON checked against the published schema as it is typed, a Test that reads
// the first page as a sync would (POST /profiles/preview), and Connect once a test read without error.
function customForm(templates) {
  let schema = null;
  call("/profiles/schema").then((found) => {
    schema = found;
    check();
  });
  const example = h("select", { id: "f-example" }, [h("option", { value: "" }, "(none)"), ...templates.map((t) => h("option", { value: t.name }, t.title))]);
  const editor = h("textarea", { id: "f-profile", name: "profile", rows: 22, spellcheck: "false", "aria-describedby": "e-profile" });
  const problems = h("p", { class: "error", id: "e-profile", "data-error": "profile", "aria-live": "polite" });
  const credentials = h("div", {});
  const results = h("div", { id: "preview-results", "aria-live": "polite" });
  const connectButton = h("button", { type: "button", class: "primary", disabled: true }, "Connect");
  let tested = null; // the text of the profile that last read without error
  const parsed = () => {
    try {
      return JSON.parse(editor.value);
    } catch (error) {
      return null;
    }
  };
  let authType = null;
  function check() {
    const profile = parsed();
    const found = [];
    if (profile === null || typeof profile !== "object" || Array.isArray(profile)) found.push("Not a JSON object yet.");
    else if (schema) {
      for (const name of schema.required || []) if (!(name in profile) && !(name === "base_url" && profile.template)) found.push(`${name} is required`);
      for (const name of Object.keys(profile)) if (!(name in schema.properties)) found.push(`${name} is not a profile field`);
      const type = profile.auth && profile.auth.type;
      const known = Object.keys(session.config.credential_fields);
      if (profile.auth && !known.includes(type)) found.push(`auth.type must be one of ${known.join(", ")}`);
      if (type !== authType) {
        authType = type;
        fill(credentials, known.includes(type) ? [credentialInputs(type), testTokenInput(type)] : null);
      }
    }
    problems.textContent = found.join("; ");
    connectButton.disabled = tested === null || tested !== editor.value;
    return found.length === 0 ? profile : null;
  }
  editor.addEventListener("input", check);
  example.addEventListener("change", () => {
    const template = templates.find((t) => t.name === example.value);
    if (!template) return;
    editor.value = JSON.stringify({ name: `My ${template.title}`, ...template.profile, subscription: { licenses_purchased: 10, cost_per_license: 0 } }, null, 2);
    check();
  });
  const drafting = draftSection((draft) => {
    editor.value = JSON.stringify(draft.profile, null, 2);
    check();
  });
  const form = h(
    "form",
    { novalidate: true },
    h("p", { class: "sub" }, "Describe the app's users API in a profile (its JSON Schema: docs/profile.schema.json, or GET /profiles/schema), Test it against the app, then Connect."),
    drafting,
    h("div", { class: "field" }, h("label", { for: "f-example" }, "Start from a template's profile"), example),
    h("div", { class: "field" }, h("label", { for: "f-profile" }, "Profile (JSON)"), editor, problems),
    h("h2", {}, "Credential"),
    credentials,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Test"), connectButton),
    h("div", { "aria-live": "polite", "data-progress": "" }),
    results,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const profile = check();
    if (!profile) return editor.focus();
    const text = editor.value;
    const found = await submit(form, () => call("/profiles/preview", { method: "POST", body: { profile, credential: testCredentialOf(form, authType), max_pages: 3 } }));
    fill(results, found ? previewTables(found) : null);
    tested = found && !found.error ? text : null;
    check();
  });
  connectButton.addEventListener("click", async () => {
    const profile = check();
    if (profile) await createAndConnect(form, profile, authType);
  });
  return form;
}

// A person's grant exists only once connected: before that, the Test reads with an access token the author got
// from the app's own console or OAuth client. It is sent with that one request and kept nowhere.
function testTokenInput(authType) {
  if (authType !== "oauth2_authorization_code") return null;
  return input("access_token", "Access token (for the Test only)", { type: "password", autocomplete: "off" }, "Not stored: sent only with the Test's read. Connect asks the app for its own grant.");
}

function testCredentialOf(form, authType) {
  if (authType === "oauth2_authorization_code") return { access_token: form.elements.access_token.value };
  return credentialOf(form, authType);
}

// "Start from an OpenAPI document": the vendor's document (a file or pasted) is sent to POST /profiles/draft and
// the draft goes into the editor; its notes stay beside it, so the author sees which guesses to check first.
function draftSection(load) {
  const file = h("input", { id: "f-openapi-file", type: "file", accept: ".json,.yaml,.yml,application/json,application/yaml" });
  const pasted = h("textarea", { id: "f-openapi", rows: 4, spellcheck: "false", placeholder: "or paste the document (JSON or YAML)" });
  const problem = h("div", { "aria-live": "polite", id: "draft-problem" });
  const notes = h("div", { id: "draft-notes", "aria-live": "polite" });
  const button = h("button", { type: "button" }, "Draft the profile");
  file.addEventListener("change", async () => {
    if (file.files.length) pasted.value = await file.files[0].text();
  });
  button.addEventListener("click", async () => {
    fill(problem);
    const text = pasted.value.trim();
    if (!text) return fill(problem, h("p", { class: "callout bad", role: "alert" }, "Choose the vendor's OpenAPI document or paste it first."));
    button.disabled = true;
    try {
      const draft = await postDocument(text);
      load(draft);
      fill(notes, draftNotesTable(draft));
    } catch (error) {
      const where = (error.detail || []).map((d) => d.msg).join("; ");
      fill(problem, h("p", { class: "callout bad", role: "alert" }, error.message, where ? h("div", {}, where) : null));
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "fieldset",
    { class: "draft" },
    h("legend", {}, "Start from an OpenAPI document"),
    h("div", { class: "field" }, h("label", { for: "f-openapi-file" }, "The vendor's OpenAPI or Swagger document"), file),
    h("div", { class: "field" }, h("label", { for: "f-openapi" }, "Document text"), pasted),
    h("div", { class: "actions" }, button),
    problem,
    notes,
  );
}

// As call(), with the document sent as it is: YAML is no JSON body.
async function postDocument(text) {
  const type = text.startsWith("{") ? "application/json" : "application/yaml";
  const answer = await fetch(API + "/profiles/draft", { method: "POST", headers: { Authorization: `Bearer ${session.token}`, "Content-Type": type }, body: text });
  if (answer.status === 401) {
    forget();
    throw new ApiError(401, "Your sign-in has ended. Sign in again.");
  }
  const data = await answer.json().catch(() => null);
  if (!answer.ok) throw new ApiError(answer.status, (data && data.message) || answer.statusText, data && data.detail);
  return data;
}

function draftNotesTable(draft) {
  const shown = (value) => (typeof value === "string" ? value : JSON.stringify(value));
  const rows = [...draft.draft_notes].sort((a, b) => a.confidence - b.confidence);
  return [
    h("p", {}, `Drafted from ${Object.entries(draft.operations).map(([role, op]) => `${role}: ${op}`).join(", ")}. Check the least sure guesses first, then Test.`),
    h(
      "table",
      {},
      h("caption", {}, "Draft notes"),
      h("thead", {}, h("tr", {}, ["Field", "Guess", "Confidence", "Why"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((n) => h("tr", {}, [n.field, shown(n.guess), `${Math.round(n.confidence * 100)}%`, n.why].map((c) => h("td", {}, c))))),
    ),
  ];
}

function previewTables(found) {
  const table = (caption, headers, rows) =>
    h("table", {}, h("caption", {}, caption), h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c == null ? "–" : String(c)))))));
  return [
    found.error ? h("p", { class: "callout bad", role: "alert" }, found.error) : null,
    found.warnings.length ? h("ul", { class: "callout bad", id: "preview-warnings" }, found.warnings.map((w) => h("li", {}, w.message))) : null,
    h("p", {}, `${found.users.length} users read; paging ${found.paging || "stopped"}.`),
    table("Previewed users", ["Id", "Email", "Name", "Active", "Last activity"], found.users.slice(0, 20).map((u) => [u.id, u.email, u.name, u.active ? "yes" : "no", u.last_activity])),
    table("Fields matched", ["Field", "Path", "Matched", "Records have"], Object.entries(found.fields).map(([name, f]) => [name, f.path, `${f.matched} of ${f.of}`, f.suggestion])),
    table("Requests", ["Request", "Status", "ms", "Next page"], found.requests.map((r) => [`${r.method} ${r.url}`, r.status || r.problem, r.elapsed_ms, r.next_page])),
    found.removal ? h("p", {}, `Removal of ${found.removal.user_id} (not sent): ${found.removal.method} ${found.removal.url} ${found.removal.body == null ? "" : JSON.stringify(found.removal.body)}`) : null,
  ];
}

function templateFacts(template) {
  const can = Object.entries(template.capabilities || {}).filter(([, yes]) => yes).map(([name]) => name);
  const notes = [template.activity_note, template.reclaim_note, template.reclaim && template.reclaim.loses_data ? template.reclaim.note : null];
  const unverified = Object.entries(template.unverified || {});
  return [
    h("p", { class: "hint" }, `Gives: ${can.join(", ") || "nothing"}. Needs: ${(template.scopes || []).join("; ") || "a credential"}. Follows the vendor's API ${template.api_version}.`),
    sunsetWarning(template),
    ...notes.filter(Boolean).map((note) => h("p", { class: "hint" }, note)),
    unverified.length
      ? h(
          "div",
          { class: "warning", role: "note", "data-unverified": unverified.map(([fact]) => fact).join(" ") },
          h("p", {}, "Not confirmed by the vendor's documentation: check these before a real reclamation (dry runs are the default)."),
          h("ul", {}, unverified.map(([fact, why]) => h("li", {}, h("strong", {}, `${label(fact)}: `), why))),
        )
      : null,
  ];
}

// The vendor's announced end of the reclaim request: warned of from 90 days before (SPEC: Template Deprecated).
const SUNSET_WARNING_DAYS = 90;

function sunsetWarning(template) {
  if (!template.sunset) return null;
  const days = Math.ceil((Date.parse(`${template.sunset}T00:00:00Z`) - Date.now()) / 86400000);
  if (days > SUNSET_WARNING_DAYS) return null;
  const when = days < 0 ? `stopped working after ${template.sunset}` : `stops working after ${template.sunset} (in ${days} days)`;
  return h("p", { class: "warning", role: "alert" }, `The vendor announced that this template's reclaim request ${when}.`);
}

function input(name, title, attributes = {}, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: `f-${name}` }, title),
    h("input", { id: `f-${name}`, name, "aria-describedby": `e-${name}${hint ? ` i-${name}` : ""}`, ...attributes }),
    hint ? h("p", { class: "hint", id: `i-${name}` }, hint) : null,
    h("p", { class: "error", id: `e-${name}`, "data-error": name }),
  );
}

const CREDENTIAL_TITLES = { token: "Token", api_key: "API key", username: "User name", client_id: "OAuth client id", client_secret: "OAuth client secret", client_email: "Service account e-mail", private_key: "Private key (PEM or JWK)" };
const SECRET = new Set(["token", "api_key", "client_secret", "private_key"]);

function credentialInputs(authType) {
  return (session.config.credential_fields[authType] || []).map((name) =>
    input(name, CREDENTIAL_TITLES[name] || label(name), { type: SECRET.has(name) ? "password" : "text", autocomplete: "off", required: true }),
  );
}

function oauthHint(authType) {
  if (authType !== "oauth2_authorization_code") return null;
  return h("p", { class: "hint" }, "Register this redirect URI with the app's OAuth client: ", h("code", {}, `${location.origin}${API}/oauth/callback`));
}

// A template's needs other than base_url are dotted paths into the profile (users.params.organization,
// users.path): one input each, shown with the template's own value as the example to replace.
const dig = (object, dotted) => dotted.split(".").reduce((value, key) => (value == null ? undefined : value[key]), object);

function needInputs(template) {
  return template.needs
    .filter((need) => need !== "base_url")
    .map((need) => {
      const example = dig(template.profile, need);
      return input(need, need, { required: true, autocomplete: "off", placeholder: typeof example === "string" ? example : "" }, "Required by this template: see its description above.");
    });
}

function placeNeed(body, dotted, value) {
  const keys = dotted.split(".");
  let section = body;
  for (const key of keys.slice(0, -1)) section = section[key] = section[key] || {};
  section[keys[keys.length - 1]] = value;
}

function templateForm(template) {
  const auth = template.profile.auth || {};
  const form = h(
    "form",
    { novalidate: true },
    h("p", { class: "sub" }, template.description, " ", h("a", { href: template.documentation, rel: "noreferrer" }, "The app's API documentation")),
    templateFacts(template),
    input("name", "Name", { required: true, value: template.title }),
    input("base_url", "Base URL", { type: "url", required: template.needs.includes("base_url"), value: template.profile.base_url || "" }),
    needInputs(template),
    input("licenses_purchased", "Licenses purchased", { type: "number", min: 0, required: true, value: 0, inputmode: "numeric" }),
    input("cost_per_license", "Cost per license", { type: "number", min: 0, step: "0.01", value: 0, inputmode: "decimal" }),
    input("currency", "Currency", { value: "USD", maxlength: 3, pattern: "[A-Z]{3}" }),
    h(
      "div",
      { class: "field" },
      h("label", { for: "f-billing_period" }, "Billing period"),
      h("select", { id: "f-billing_period", name: "billing_period" }, ["monthly", "quarterly", "annual"].map((p) => h("option", { value: p }, p))),
    ),
    h("h2", {}, "Credential"),
    oauthHint(auth.type),
    credentialInputs(auth.type),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Create and connect")),
    h("div", { "aria-live": "polite", "data-progress": "" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (name) => form.elements[name].value.trim();
    const body = {
      template: template.name,
      name: value("name"),
      subscription: {
        licenses_purchased: Number(value("licenses_purchased") || 0),
        cost_per_license: Number(value("cost_per_license") || 0),
        currency: value("currency"),
        billing_period: value("billing_period"),
      },
    };
    if (value("base_url")) body.base_url = value("base_url");
    // The template's own value of a need is only an example: without the person's, the profile could not work.
    const missing = template.needs.filter((need) => need !== "base_url" && !value(need));
    for (const need of template.needs) if (need !== "base_url") form.querySelector(`[data-error="${need}"]`).textContent = missing.includes(need) ? "Required by this template." : "";
    if (missing.length) return form.elements[missing[0]].focus();
    for (const need of template.needs) if (need !== "base_url") placeNeed(body, need, value(need));
    await createAndConnect(form, body, auth.type);
  });
  return form;
}

function credentialOf(form, authType) {
  const credential = {};
  for (const name of session.config.credential_fields[authType] || []) credential[name] = form.elements[name].value;
  return credential;
}

// One step or none: the whole form (profile and credential) is tried against the app before anything is
// created, and a profile whose connection is refused or fails is deleted again, so a retry starts clean.
async function createAndConnect(form, body, authType) {
  // A person's grant cannot be previewed: those profiles are checked by the API and cleaned up on failure.
  if (authType !== "oauth2_authorization_code") {
    const tried = await submit(form, () => call("/profiles/preview", { method: "POST", body: { profile: body, credential: credentialOf(form, authType), max_pages: 1 } }));
    if (!tried) return;
    if (tried.error) {
      fill(form.querySelector("[data-progress]"), h("p", { class: "callout bad", role: "alert" }, `The app refused the test read: ${tried.error}. Nothing was created.`));
      return;
    }
  }
  const profile = await submit(form, () => call("/profiles", { method: "POST", body }));
  if (profile) await connect(form, profile.id, authType, { removeOnFailure: true });
}

async function connectView(main, profileId) {
  const profile = await call(`/profiles/${profileId}`);
  const form = h(
    "form",
    { novalidate: true },
    oauthHint(profile.auth.type),
    credentialInputs(profile.auth.type),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Connect")),
    h("div", { "aria-live": "polite", "data-progress": "" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await connect(form, profileId, profile.auth.type);
  });
  fill(main, h("p", {}, h("a", { href: `#/apps/${profileId}` }, `← ${profile.name}`)), h("h1", {}, `Connect ${profile.name}`), form);
}

// Sends the form's work; shows 422s next to their fields (by the last part of each error's loc).
async function submit(form, work) {
  for (const error of form.querySelectorAll("[data-error]")) error.textContent = "";
  const progress = form.querySelector("[data-progress]");
  fill(progress);
  try {
    return await work();
  } catch (error) {
    const unplaced = [];
    for (const detail of error.detail || []) {
      // A need's input is named by its whole dotted path, as a 422 gives it after "body".
      const dotted = detail.loc.slice(1).join(".");
      const field = [dotted, ...[...detail.loc].reverse()].find((part) => form.querySelector(`[data-error="${part}"]`));
      if (field) form.querySelector(`[data-error="${field}"]`).textContent = detail.msg;
      else unplaced.push(`${detail.loc.join(".")}: ${detail.msg}`);
    }
    fill(progress, h("p", { class: "callout bad", role: "alert" }, error.message, unplaced.length ? h("div", {}, unplaced.join("; ")) : null));
    return null;
  }
}

async function connect(form, profileId, authType, { removeOnFailure = false } = {}) {
  const credential = credentialOf(form, authType);
  const started = await submit(form, () => call(`/profiles/${profileId}/connection`, { method: "POST", body: credential }));
  for (const name of session.config.credential_fields[authType] || []) form.elements[name].value = "";
  const forget = () => (removeOnFailure ? call(`/profiles/${profileId}`, { method: "DELETE" }).catch(() => null) : null);
  if (!started) return forget();
  const progress = form.querySelector("[data-progress]");
  fill(progress, h("p", {}, "Connecting: creating the connection, credential and app registry records…"));
  for (let i = 0; i < 120; i++) {
    const state = await call(`/profiles/${profileId}/connection`).catch(() => null);
    // The API only gives out http(s) authorize URLs; the page goes nowhere else whatever it is told.
    if (state && state.status === "awaiting_grant" && /^https?:\/\//i.test(state.authorize_url || "")) {
      fill(progress, h("p", {}, "Taking you to the app to grant access… ", h("a", { href: state.authorize_url }, "Continue")));
      location.assign(state.authorize_url);
      return;
    }
    if (state && state.status === "connected") {
      location.hash = `#/apps/${profileId}`;
      toast("Connected.");
      return;
    }
    if (state && state.status === "failed") {
      if (removeOnFailure) {
        await forget();
        fill(progress, h("p", { class: "callout bad", role: "alert" }, `The connection failed: ${state.error || "unknown error"}. Nothing was kept: correct the form and submit it again.`));
        return;
      }
      fill(progress, 
        h("p", { class: "callout bad", role: "alert" }, `The connection failed: ${state.error || "unknown error"}. Everything it created was removed. `, h("a", { href: `#/apps/${profileId}/connect` }, "Try again")),
      );
      return;
    }
    await new Promise((done) => setTimeout(done, 1000));
  }
  fill(progress, h("p", {}, "Still connecting. ", h("a", { href: `#/apps/${profileId}` }, "See the application")));
}

// --- routing ------------------------------------------------------------------------------------

const ROUTES = [
  [/^#?\/?$/, overviewView],
  [/^#\/new$/, newApplicationView],
  [/^#\/apps\/([A-Za-z0-9_-]+)$/, applicationView],
  [/^#\/apps\/([A-Za-z0-9_-]+)\/connect$/, connectView],
  [/^#\/renewals$/, renewalsView],
];

// --- renewals: the next twelve months, by opt-out deadline (GET /renewals) --------------------

// Months with a deadline stand alone; a run of months without one folds into a single line.
function monthRuns(months, inMonth) {
  const runs = [];
  for (const m of months) {
    const last = runs[runs.length - 1];
    if (inMonth(m).length) runs.push(m);
    else if (Array.isArray(last)) last.push(m);
    else runs.push([m]);
  }
  return runs;
}

function emptyMonths(run) {
  const name = (m) => m.toLocaleDateString(undefined, { month: "long", year: "numeric", timeZone: "UTC" });
  const span = run.length === 1 ? name(run[0]) : `${name(run[0])} – ${name(run[run.length - 1])}`;
  return h("li", { class: "empty-months", "data-months": run.map((m) => m.toISOString().slice(0, 7)).join(" ") }, h("p", { class: "sub" }, `${span}: nothing due.`));
}

async function renewalsView(main) {
  const { items } = await call("/renewals?within_days=365");
  const yearly = (r, amount) => (amount == null ? "–" : money({ amount, currency: r.currency, period: "annual" }));
  const first = new Date();
  first.setUTCDate(1);
  const months = Array.from({ length: 12 }, (_, i) => new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + i, 1)));
  const inMonth = (m) => items.filter((r) => r.opt_out_deadline.slice(0, 7) === m.toISOString().slice(0, 7));
  const urgency = (r) => (r.days_to_deadline < 0 ? "bad" : r.days_to_deadline <= 30 ? "warn" : "");
  fill(
    main,
    h("h1", {}, "Renewals"),
    h("p", { class: "sub" }, "Subscriptions whose opt-out deadline falls within the next 12 months: when to give notice, and the money at stake."),
    panel(
      "Opt-out deadlines by month",
      h(
        "ol",
        { class: "timeline", "aria-label": "Opt-out deadlines by month" },
        monthRuns(months, inMonth).map((m) =>
          Array.isArray(m)
            ? emptyMonths(m)
            : h(
            "li",
            { "data-month": m.toISOString().slice(0, 7) },
            h("h3", {}, m.toLocaleDateString(undefined, { month: "long", year: "numeric", timeZone: "UTC" })),
            inMonth(m).length
              ? h(
                  "ul",
                  {},
                  inMonth(m).map((r) =>
                    h(
                      "li",
                      { "data-profile": r.profile_id, class: urgency(r) },
                      h("a", { href: `#/apps/${r.profile_id}` }, r.name),
                      ` — give notice by ${day(r.opt_out_deadline)}; ${yearly(r, r.annual_cost)} at stake`,
                      r.potential_annual_savings ? `, ${yearly(r, r.potential_annual_savings)} to save` : "",
                    ),
                  ),
                )
              : h("p", { class: "sub" }, "Nothing due."),
          ),
        ),
      ),
    ),
    panel(
      "Renewals",
      items.length
        ? table(
            [
              { title: "Application" },
              { title: "Renews" },
              { title: "Opt-out by" },
              { title: "Days left", num: true },
              { title: "Auto-renew" },
              { title: "Purchased", num: true },
              { title: "Recommended", num: true },
              { title: "Annual cost", num: true },
              { title: "Could save a year", num: true },
              { title: "Owner" },
            ],
            items.map((r) => [
              h("a", { href: `#/apps/${r.profile_id}` }, r.name),
              day(r.renewal_date),
              day(r.opt_out_deadline),
              count(r.days_to_deadline),
              r.auto_renew ? "yes" : "no",
              count(r.licenses_purchased),
              r.recommended_licenses == null ? "–" : count(r.recommended_licenses),
              yearly(r, r.annual_cost),
              yearly(r, r.potential_annual_savings),
              r.owner || "–",
            ]),
            "Renewals",
            { stack: true },
          )
        : h("p", { class: "sub" }, "No renewals in the next 12 months."),
    ),
  );
}

// A table wider than its card scrolls inside it; the card says so, where it does (a phone).
function markOverflowing(root) {
  const mark = () => {
    for (const box of root.querySelectorAll(".scroll")) box.classList.toggle("overflows", box.scrollWidth > box.clientWidth + 1);
  };
  mark();
  if (!markOverflowing.observer && window.ResizeObserver) {
    markOverflowing.observer = new ResizeObserver(mark);
    markOverflowing.observer.observe(root);
  }
}

async function route(navigation) {
  const mine = ++routed;
  if (!session.token) return signInView();
  showWho();
  const main = h("div");
  stage.setAttribute("aria-busy", "true");
  try {
    const found = ROUTES.map(([pattern, view]) => [location.hash.match(pattern), view]).find(([match]) => match);
    if (!can.read()) fill(main, h("h1", {}, "No access"), h("p", {}, "Your account is in none of the groups admin, sam_integrator or sam_viewer."));
    else if (!found) fill(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the overview")));
    else await found[1](main, ...found[0].slice(1));
  } catch (error) {
    if (error.status === 401) return signInView(error.message);
    const where = (error.detail || []).map((d) => `${(d.loc || []).join(".")}: ${d.msg || d.type}`).join("; ");
    fill(main, h("h1", {}, "Something went wrong"), h("p", { class: "callout bad", role: "alert" }, error.message, where ? h("div", {}, where) : null), h("p", {}, h("a", { href: "#/" }, "Back to the overview")));
  }
  if (mine !== routed) return;
  fill(stage, main);
  stage.removeAttribute("aria-busy");
  markOverflowing(stage);
  if (navigation) {
    // Someone followed a link: start them at the top of the new view, as a new page would.
    window.scrollTo(0, 0);
    stage.focus();
  }
}

async function start() {
  // A link from `seatkeeper local`: the token rides in the fragment, which no server sees.
  // Taken before anything is awaited, so that the address bar never shows it for long.
  const linked = location.hash.startsWith("#token=") ? decodeURIComponent(location.hash.slice(7)) : null;
  if (linked) history.replaceState(null, "", `${location.pathname}#/`);
  session.config = await fetch(`${API}/dashboard/config.json`).then((r) => r.json());
  const query = new URLSearchParams(location.search);
  let problem = null;
  if (linked) {
    if (!remember(linked)) problem = "The token in that link has expired: run seatkeeper local or seatkeeper token again.";
  } else if (query.has("code") || query.has("error")) {
    try {
      await finishSignIn(query);
    } catch (error) {
      problem = error.message;
    }
  } else {
    const kept = sessionStorage.getItem(TOKEN_KEY);
    if (kept && !remember(kept)) forget();
  }
  window.addEventListener("hashchange", route);
  // The skip link moves the focus, not the route (its #main would be a route of its own).
  document.querySelector(".skip").addEventListener("click", (event) => {
    event.preventDefault();
    stage.focus();
  });
  if (problem) return signInView(problem);
  await route();
}

start();
