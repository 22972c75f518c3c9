// synwatch status page: the fleet overview (#/) and a target's page
// (#/target/IP:PORT), from the exporter's JSON API. No libraries: the DOM is
// built with el(), every text from Redis goes in as textContent, and the
// latency chart is drawn on a <canvas> by drawChart().
"use strict";

(function () {
	const STATES = ["down", "flapping", "degraded", "up", "unknown"];
	const STATE_LABEL = { down: "Down", flapping: "Flapping", degraded: "Degraded", up: "Up", unknown: "Unknown" };
	const OVERVIEW_EVERY = 5000;
	const TARGET_EVERY = 15000;
	const PAGE = 50;
	const SERIES = [
		{ key: "p50", col: 3, color: "#2563eb", width: 2 },
		{ key: "p95", col: 4, color: "#8b5cf6", width: 1.6 },
		{ key: "p99", col: 5, color: "#f97316", width: 1.4 },
	];

	const ui = { loc: "", q: "", filter: "", check: "", offset: 0, summary: null, timer: null, hours: 24, chartLoc: "", route: "" };

	// ---- helpers ----

	function el(tag, props, ...kids) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(props || {})) {
			if (v === undefined || v === null || v === false) continue;
			if (k === "class") e.className = v;
			else if (k === "text") e.textContent = v;
			else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
			else if (k === "data") Object.assign(e.dataset, v);
			else if (k === "style") {
				// through the CSSOM: the page's CSP refuses style attributes
				for (const decl of String(v).split(";")) {
					const i = decl.indexOf(":");
					if (i > 0) e.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim());
				}
			}
			else e.setAttribute(k, v);
		}
		for (const kid of kids.flat()) {
			if (kid === null || kid === undefined || kid === false) continue;
			e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
		}
		return e;
	}

	function pill(state) {
		return el("span", { class: "pill s-" + (STATES.includes(state) ? state : "unknown"), text: state || "unknown" });
	}

	function fmtAge(sec) {
		if (sec === null || sec === undefined || !isFinite(sec)) return "–";
		sec = Math.max(0, Math.floor(sec));
		if (sec < 60) return sec + "s";
		if (sec < 3600) return Math.floor(sec / 60) + "m " + String(sec % 60).padStart(2, "0") + "s";
		if (sec < 86400) return Math.floor(sec / 3600) + "h " + String(Math.floor(sec / 60) % 60).padStart(2, "0") + "m";
		return Math.floor(sec / 86400) + "d " + String(Math.floor(sec / 3600) % 24).padStart(2, "0") + "h";
	}

	function fmtRtt(us) {
		if (us === null || us === undefined || us === "" || !isFinite(us) || us < 0) return "–";
		us = Number(us);
		if (us < 1000) return us.toFixed(0) + " µs";
		if (us < 10000) return (us / 1000).toFixed(2) + " ms";
		if (us < 1e6) return (us / 1000).toFixed(1) + " ms";
		return (us / 1e6).toFixed(2) + " s";
	}

	function fmtClock(unix, withDate) {
		if (!unix) return "–";
		const d = new Date(unix * 1000);
		const t = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
		if (!withDate) return t;
		return d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + t;
	}

	function nsToS(ns) {
		const v = Number(ns);
		return isFinite(v) && v > 0 ? v / 1e9 : null;
	}

	// ---- service checks (docs/checks.md; the row's check object) ----

	// the certificate's days left as words, as synwatch-top and -ctl say them
	function certDays(d) {
		if (d === null || d === undefined || !isFinite(d)) return "–";
		if (d > 0) return "expires in " + d + (d === 1 ? " day" : " days");
		if (d === 0) return "expires within a day";
		if (d === -1) return "expired within the last day";
		return "expired " + -d + " days ago";
	}

	function certExpired(c) {
		return !!(c && c.cert && (c.verdict === "cert_expired" || (c.cert.days_left !== null && c.cert.days_left < 0)));
	}

	function certExpiring(c) {
		return !!(c && c.cert && !certExpired(c) && c.verdict === "cert_expiring");
	}

	// the marks a row gets next to its state: a failing check, a certificate running out
	function checkFlags(c) {
		const flags = [];
		if (!c) return flags;
		if (c.ok === false)
			flags.push(el("span", { class: "flag bad", data: { mark: "check" }, title: c.kind + ": " + (c.error || "failed"),
				text: c.kind + " ✗" }));
		if (certExpired(c))
			flags.push(el("span", { class: "flag bad", data: { mark: "cert" }, title: "certificate " + certDays(c.cert.days_left),
				text: "cert expired" }));
		else if (certExpiring(c))
			flags.push(el("span", { class: "flag warn", data: { mark: "cert" }, title: "certificate " + certDays(c.cert.days_left),
				text: "cert " + c.cert.days_left + "d" }));
		return flags;
	}

	async function getJSON(url) {
		const r = await fetch(url, { cache: "no-store" });
		let body = null;
		try {
			body = await r.json();
		} catch (e) {
			body = null;
		}
		if (!r.ok) throw new Error((body && body.error) || r.status + " " + r.statusText);
		return body;
	}

	function setConn(ok, text) {
		document.getElementById("conn-dot").className = "dot" + (ok ? "" : " bad");
		document.getElementById("conn-text").textContent = text;
	}

	function targetHref(t) {
		return "#/target/" + encodeURIComponent(t);
	}

	function now() {
		return Date.now() / 1000;
	}

	// ---- the location selector ----

	function fillLocations(locs) {
		const sel = document.getElementById("location");
		const want = ["", ...locs].join("\n");
		if (sel.dataset.locs !== want) {
			sel.replaceChildren(el("option", { value: "", text: "All locations" }),
				...locs.map((l) => el("option", { value: l, text: l })));
			sel.dataset.locs = want;
		}
		if (ui.loc && !locs.includes(ui.loc)) ui.loc = "";
		sel.value = ui.loc;
	}

	document.getElementById("location").addEventListener("change", (ev) => {
		ui.loc = ev.target.value;
		ui.offset = 0;
		route(true);
	});

	// ---- overview ----

	let ov = null; // the overview's live elements

	function buildOverview() {
		const cards = el("section", { class: "cards", id: "cards" });
		const checkbar = el("section", { class: "checkbar", id: "checkbar", hidden: true });
		const search = el("input", {
			class: "search", type: "search", placeholder: "Search name, ip:port or group", value: ui.q,
			"aria-label": "Search targets",
		});
		let typing = null;
		search.addEventListener("input", () => {
			clearTimeout(typing);
			typing = setTimeout(() => {
				ui.q = search.value.trim();
				ui.offset = 0;
				loadTargets();
			}, 200);
		});
		const chips = el("div", { class: "chips" });
		const filters = [["", "All"], ["problem", "Problems"], ...STATES.map((s) => [s, STATE_LABEL[s]])];
		for (const [value, label] of filters) {
			chips.append(el("button", {
				class: "chip" + (ui.filter === value ? " on" : ""), text: label, data: { filter: value },
				onclick: () => setFilter(value),
			}));
		}
		const tbody = el("tbody", { id: "rows" });
		const table = el("table", { id: "targets" },
			el("thead", {}, el("tr", {},
				el("th", { text: "State" }), el("th", { text: "Name" }), el("th", { text: "Target" }),
				el("th", { text: "Group" }), el("th", { text: "Location" }), el("th", { text: "Since" }),
				el("th", { class: "right", text: "Last RTT" }))),
			tbody);
		const count = el("span", { class: "count", id: "count" });
		const prev = el("button", { text: "‹ Previous", onclick: () => { ui.offset = Math.max(0, ui.offset - PAGE); loadTargets(); } });
		const next = el("button", { text: "Next ›", onclick: () => { ui.offset += PAGE; loadTargets(); } });
		const pageText = el("span", {});
		const probers = el("ul", { class: "list", id: "probers" });
		const events = el("ul", { class: "list", id: "events" });
		const main = el("div", {},
			el("section", { class: "panel" },
				el("h2", {}, "Targets", count),
				el("div", { class: "toolbar" }, search, chips),
				el("div", { class: "table-wrap" }, table),
				el("div", { class: "pager" }, pageText, el("span", {}, prev, " ", next))));
		const side = el("div", {},
			el("section", { class: "panel" }, el("h2", { text: "Probers" }), probers),
			el("section", { class: "panel" }, el("h2", { text: "Recent events" }), events));
		const errorBox = el("div", { class: "error-box", id: "error", hidden: true });
		// a prober that stopped writing: first on the page, as in synwatch-top,
		// because the counts and the table below are then what it left
		const proberBox = el("div", { class: "error-box", id: "prober-alarm", hidden: true });
		const app = document.getElementById("app");
		app.replaceChildren(errorBox, proberBox, cards, checkbar, el("div", { class: "grid" }, main, side));
		ov = { cards, checkbar, tbody, count, prev, next, pageText, probers, events, chips, errorBox, proberBox };
	}

	function setCheckFilter(value) {
		ui.check = ui.check === value ? "" : value;
		ui.offset = 0;
		renderCheckbar();
		loadTargets();
	}

	// the service checks at a glance: how many fail, how many certificates
	// run out; each a filter of the table
	function renderCheckbar() {
		const c = ui.summary && ui.summary.checks;
		ov.checkbar.hidden = !c || !c.checked;
		if (!c || !c.checked) return;
		const item = (value, cls, n, label, title) => el("button", {
			class: "check-item " + (n ? cls : "zero") + (ui.check === value ? " on" : ""), data: { check: value }, title,
			onclick: () => setCheckFilter(value),
		}, el("b", { text: String(n) }), " " + label);
		ov.checkbar.replaceChildren(
			el("span", { class: "label", text: "Service checks" }),
			el("span", { class: "muted", text: c.checked + (c.checked === 1 ? " target checked" : " targets checked") }),
			item("failing", "bad", c.failing, "failing", "Show the targets whose last check failed"),
			el("span", { class: "label", text: "Certificates" }),
			el("span", { class: "muted", text: String(c.certs) + " seen" }),
			item("cert", "warn", c.certs_expiring, "expiring", "Show the certificates expiring or expired"),
			item("cert", "bad", c.certs_expired, "expired", "Show the certificates expiring or expired"));
	}

	function setFilter(value) {
		ui.filter = ui.filter === value ? "" : value;
		ui.offset = 0;
		for (const c of ov.chips.children) c.classList.toggle("on", c.dataset.filter === ui.filter);
		renderCards();
		loadTargets();
	}

	function renderCards() {
		const s = ui.summary;
		if (!s || !ov) return;
		const counts = ui.loc ? s.by_location[ui.loc] || {} : s.counts;
		const multi = !ui.loc && s.locations.length > 1;
		const cards = STATES.map((st) => {
			const v = counts[st] || 0;
			let sub = ui.loc ? "in " + ui.loc : "of " + s.targets + " targets";
			if (multi) sub = s.locations.map((l) => l + " " + ((s.by_location[l] || {})[st] || 0)).join(" · ");
			return el("div", {
				class: "card c-" + st + (ui.filter === st ? " active" : ""), data: { state: st }, title: "Show " + st,
				onclick: () => setFilter(st),
			},
			el("div", { class: "label", text: STATE_LABEL[st] }),
			el("div", { class: "value" + (v ? "" : " zero"), text: String(v) }),
			el("div", { class: "sub", text: sub }));
		});
		const total = ui.loc ? counts.all || 0 : s.targets;
		cards.push(el("div", {
			class: "card total c-total", data: { state: "all" },
			title: multi ? "Each target counts once, in its worst state over the locations" : null,
		},
		el("div", { class: "label", text: "Targets" }),
		el("div", { class: "value", text: String(total) }),
		el("div", { class: "sub", text: ui.loc ? "in " + ui.loc
			: "in " + s.locations.length + (s.locations.length === 1 ? " location" : " locations") })));
		ov.cards.replaceChildren(...cards);
	}

	// ok, late or gone, as the exporter's read model (tools/lib/fleetview.c) says
	function proberStatus(p) {
		return p.status || (!p.alive ? "gone" : p.heartbeat_age_s > 3 ? "late" : "ok");
	}

	function renderProberAlarm() {
		const s = ui.summary;
		const gone = s.probers.filter((p) => proberStatus(p) === "gone");
		ov.proberBox.hidden = !gone.length;
		if (!gone.length) return;
		const p = gone.reduce((a, b) => (b.heartbeat_age_s < a.heartbeat_age_s ? b : a));
		const live = s.probers.filter((q) => q.location === p.location && proberStatus(q) !== "gone").length;
		ov.proberBox.textContent = "Prober " + p.id + " is gone" +
			(gone.length > 1 ? " (and " + (gone.length - 1) + " more)" : "") +
			": no heartbeat for " + fmtAge(p.heartbeat_age_s) + " (last " + fmtClock(p.last_seen) + "); " +
			(live ? p.location + " still has " + live + " live prober" + (live > 1 ? "s" : "")
				: p.location + " has no live prober: its states are as it left them");
	}

	function renderProbers() {
		const s = ui.summary;
		renderProberAlarm();
		const items = s.probers.filter((p) => !ui.loc || p.location === ui.loc).map((p) => {
			const f = p.fields || {};
			const flags = [];
			const status = proberStatus(p);
			if (status === "gone") flags.push(el("span", { class: "flag bad", text: "gone" }));
			else {
				if (f.isolated === "1") flags.push(el("span", { class: "flag bad", text: "isolated" }));
				if (f.overloaded === "1") flags.push(el("span", { class: "flag warn", text: "overloaded" }));
				if (status === "late") flags.push(el("span", { class: "flag warn", text: "late" }));
				if (!flags.length) flags.push(el("span", { class: "flag ok", text: "ok" }));
			}
			const facts = p.alive
				? [(f.sent_per_s || "0") + " sent/s", (f.replies_per_s || "0") + " replies/s",
					(f.pcap_drops || "0") + " drops", "backlog " + (f.backlog || "0")].join(" · ")
				: "last heartbeat " + fmtAge(p.heartbeat_age_s) + " ago (" + fmtClock(p.last_seen) + ")";
			return el("li", {},
				el("div", { class: "row1" },
					el("span", { class: "mono", text: p.id }),
					el("span", {}, el("span", { class: "muted", text: p.alive ? fmtAge(p.heartbeat_age_s) : "" }), ...flags)),
				el("div", { class: "row2", text: facts }));
		});
		ov.probers.replaceChildren(...(items.length ? items : [el("li", { class: "empty", text: "No prober has a heartbeat" })]));
	}

	function eventItem(e, withTarget) {
		const kind = e.kind || "";
		let head, detail;
		if (kind === "state") {
			head = el("span", {}, e.from || "?", el("span", { class: "arrow", text: "→" }), pill(e.to));
			// a check's verdict: the check and the server's own words
			const said = e.check_error ? (e.check ? e.check + ": " : "") + e.check_error : null;
			detail = [said || e.reason, e.rtt_us ? fmtRtt(Number(e.rtt_us)) : null].filter(Boolean).join(" · ");
		} else if (kind.startsWith("host_")) {
			head = el("span", { class: "flag " + (kind === "host_down" ? "bad" : "ok"), text: kind.replace("_", " ") });
			detail = "host " + (e.ip || "?") + " · " + (e.ports || "?") + " watched ports";
		} else if (kind.startsWith("prober_")) {
			head = el("span", { class: "flag " + (kind === "prober_isolated" ? "bad" : "ok"), text: kind.replace("_", " ") });
			detail = (e.prober || "") + " · failing " + Math.round(Number(e.failing_share || 0) * 100) + "%";
		} else {
			head = el("span", { class: "flag off", text: kind.replace("_", " ") });
			detail = [e.name, e.old_ip ? e.old_ip + " → " + e.ip : ""].filter(Boolean).join(" · ");
		}
		const when = nsToS(e.ts);
		const who = withTarget && e.target
			? el("a", { href: targetHref(e.target), class: "mono", text: e.name || e.target })
			: el("span", { class: "muted", text: e.location || "" });
		return el("li", {},
			el("div", { class: "row1" }, who, head),
			el("div", { class: "row2", title: when ? new Date(when * 1000).toString() : "" },
				fmtClock(when, now() - when > 86400) + (withTarget && e.location ? " · " + e.location : "") +
				(detail ? " · " + detail : "")));
	}

	function renderEvents() {
		const evs = ui.summary.events.filter((e) => !ui.loc || e.location === ui.loc).slice(0, 14);
		ov.events.replaceChildren(...(evs.length ? evs.map((e) => eventItem(e, true))
			: [el("li", { class: "empty", text: "No events" })]));
	}

	async function loadTargets() {
		if (!ov) return;
		const p = new URLSearchParams({ offset: ui.offset, limit: PAGE });
		if (ui.filter) p.set("state", ui.filter);
		if (ui.q) p.set("q", ui.q);
		if (ui.loc) p.set("location", ui.loc);
		if (ui.check) p.set("check", ui.check);
		let r;
		try {
			r = await getJSON("api/targets?" + p);
		} catch (e) {
			ov.errorBox.hidden = false;
			ov.errorBox.textContent = "Cannot load targets: " + e.message;
			return;
		}
		const t0 = now();
		const rows = r.rows.map((t) => el("tr", { onclick: () => { location.hash = targetHref(t.target); }, data: { target: t.target } },
			el("td", {}, pill(t.state), ...checkFlags(t.check)),
			el("td", { title: t.name, text: t.name || "–" }),
			el("td", { class: "mono" }, el("a", { href: targetHref(t.target), text: t.target })),
			el("td", { text: t.group || "–" }),
			el("td", { text: t.location }),
			el("td", { title: t.since ? new Date(t.since * 1000).toString() : "", text: t.since ? fmtAge(t0 - t.since) : "–" }),
			el("td", { class: "num", text: fmtRtt(t.last_rtt_us) })));
		const none = ui.filter || ui.q || ui.loc || ui.check ? "No target matches" : "No targets: no prober has written any yet";
		ov.tbody.replaceChildren(...(rows.length ? rows
			: [el("tr", {}, el("td", { colspan: 7, class: "empty", text: none }))]));
		const last = Math.min(r.offset + r.rows.length, r.total);
		ov.count.textContent = r.total + (ui.filter || ui.q || ui.check ? " matching" : "");
		ov.pageText.textContent = r.total ? (r.offset + 1) + "–" + last + " of " + r.total : "";
		ov.prev.disabled = r.offset === 0;
		ov.next.disabled = last >= r.total;
	}

	async function refreshOverview() {
		try {
			ui.summary = await getJSON("api/summary");
		} catch (e) {
			setConn(false, e.message);
			if (ov) {
				ov.errorBox.hidden = false;
				ov.errorBox.textContent = e.message;
			}
			return;
		}
		const s = ui.summary;
		setConn(s.redis.ok, s.redis.ok ? "updated " + fmtClock(s.now) : (s.redis.error || "redis unreachable"));
		fillLocations(s.locations);
		if (ui.route !== "overview") return;
		ov.errorBox.hidden = !s.redis.error;
		ov.errorBox.textContent = s.redis.error || "";
		renderCards();
		renderCheckbar();
		renderProbers();
		renderEvents();
		await loadTargets();
	}

	// ---- target page ----

	let tv = null; // the target page's live elements

	function niceStep(range, ticks) {
		const raw = range / ticks;
		const mag = Math.pow(10, Math.floor(Math.log10(raw)));
		const n = raw / mag;
		return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
	}

	// Draws the latency series (rows of [t, n, lost, p50, p95, p99, max, min,
	// mean], µs) from `from` to `to` (Unix s), lines per SERIES, loss as red
	// bars along the bottom. Returns the geometry for the hover tooltip.
	function drawChart(canvas, rows, from, to, step) {
		const dpr = window.devicePixelRatio || 1;
		const W = canvas.clientWidth || 900, H = canvas.clientHeight || 300;
		canvas.width = Math.round(W * dpr);
		canvas.height = Math.round(H * dpr);
		const g = canvas.getContext("2d");
		g.setTransform(dpr, 0, 0, dpr, 0, 0);
		g.clearRect(0, 0, W, H);
		const L = 62, R = 14, T = 10, B = 34, lossH = 22;
		const pw = W - L - R, ph = H - T - B - lossH;
		let ymax = 0;
		for (const r of rows) for (const s of SERIES) if (r[s.col] !== null && r[s.col] > ymax) ymax = r[s.col];
		ymax = ymax > 0 ? ymax * 1.08 : 1000;
		const ystep = niceStep(ymax, 5);
		ymax = Math.ceil(ymax / ystep) * ystep;
		const x = (t) => L + ((t - from) / Math.max(1, to - from)) * pw;
		const y = (v) => T + ph - (v / ymax) * ph;

		g.font = "11.5px system-ui, sans-serif";
		g.textBaseline = "middle";
		// horizontal grid and y labels
		for (let v = 0; v <= ymax + 1e-9; v += ystep) {
			g.strokeStyle = v === 0 ? "#cbd2db" : "#edf0f4";
			g.lineWidth = 1;
			g.beginPath();
			g.moveTo(L, Math.round(y(v)) + 0.5);
			g.lineTo(L + pw, Math.round(y(v)) + 0.5);
			g.stroke();
			g.fillStyle = "#6b7685";
			g.textAlign = "right";
			g.fillText(fmtRtt(v).replace(" ", "\u2009"), L - 8, y(v));
		}
		// time ticks
		const span = to - from;
		const tsteps = [300, 600, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
		const tstep = tsteps.find((s) => span / s <= 8) || 86400;
		const off = new Date().getTimezoneOffset() * 60;
		g.textAlign = "center";
		g.textBaseline = "top";
		for (let t = Math.ceil((from - off) / tstep) * tstep + off; t <= to; t += tstep) {
			const px = x(t);
			g.strokeStyle = "#f1f3f6";
			g.beginPath();
			g.moveTo(Math.round(px) + 0.5, T);
			g.lineTo(Math.round(px) + 0.5, T + ph);
			g.stroke();
			const d = new Date(t * 1000);
			let label = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
			if (tstep >= 86400 || (d.getHours() === 0 && d.getMinutes() === 0 && span > 86400))
				label = d.toLocaleDateString([], { month: "short", day: "numeric" });
			g.fillStyle = "#6b7685";
			g.fillText(label, px, T + ph + lossH + 10);
		}
		// loss band
		const lossTop = T + ph + 8;
		for (const r of rows) {
			const total = r[1] + r[2];
			if (!r[2] || !total) continue;
			const share = r[2] / total;
			const bw = Math.max(1.5, (step / Math.max(1, span)) * pw);
			g.fillStyle = "rgba(220, 38, 38, " + (0.25 + 0.75 * share).toFixed(2) + ")";
			g.fillRect(x(r[0]), lossTop + (lossH - 4) * (1 - share), bw, Math.max(2, (lossH - 4) * share));
		}
		g.fillStyle = "#9aa3af";
		g.textAlign = "right";
		g.textBaseline = "middle";
		g.fillText("loss", L - 8, lossTop + (lossH - 4) / 2 + 1);
		// the lines; a gap where a period has no samples
		g.lineJoin = "round";
		for (const s of SERIES.slice().reverse()) {
			g.strokeStyle = s.color;
			g.lineWidth = s.width;
			g.beginPath();
			let pen = false, prevT = null;
			for (const r of rows) {
				const v = r[s.col];
				if (v === null || (prevT !== null && r[0] - prevT > step * 1.5)) pen = false;
				prevT = r[0];
				if (v === null) continue;
				const px = x(r[0] + step / 2), py = y(Math.min(v, ymax));
				if (pen) g.lineTo(px, py);
				else g.moveTo(px, py);
				pen = true;
			}
			g.stroke();
		}
		canvas.dataset.points = String(rows.length);
		canvas.dataset.series = SERIES.map((s) => s.key).join(",");
		canvas.dataset.ymaxUs = String(Math.round(ymax));
		return { L, R, T, pw, ph, x, y, from, to, step, rows };
	}

	function attachTooltip(wrap, canvas, tip, geo) {
		let hover = null;
		canvas.onmousemove = (ev) => {
			const g = geo();
			if (!g || !g.rows.length) return;
			const rect = canvas.getBoundingClientRect();
			const mx = ev.clientX - rect.left;
			const t = g.from + ((mx - g.L) / g.pw) * (g.to - g.from);
			let best = null;
			for (const r of g.rows) if (!best || Math.abs(r[0] + g.step / 2 - t) < Math.abs(best[0] + g.step / 2 - t)) best = r;
			if (!best || Math.abs(best[0] + g.step / 2 - t) > g.step * 3) {
				tip.style.display = "none";
				return;
			}
			hover = best;
			const total = best[1] + best[2];
			tip.replaceChildren(
				el("div", { text: fmtClock(best[0], g.to - g.from > 86400) + (g.step > 60 ? " (+" + g.step / 60 + " min)" : "") }),
				...SERIES.map((s) => el("div", {}, el("span", { style: "color:" + s.color, text: "● " }),
					s.key + " ", el("span", { class: "mono", text: fmtRtt(best[s.col]) }))),
				el("div", {}, "max ", el("span", { class: "mono", text: fmtRtt(best[6]) })),
				el("div", { text: best[1] + " answered · " + best[2] + " lost" + (total ? " (" + (100 * best[2] / total).toFixed(1) + "%)" : "") }));
			tip.style.display = "block";
			const px = g.x(best[0] + g.step / 2) + 12;
			tip.style.left = Math.min(px, wrap.clientWidth - tip.offsetWidth - 8) + "px";
			tip.style.top = "14px";
		};
		canvas.onmouseleave = () => {
			tip.style.display = "none";
			hover = null;
		};
		return () => hover;
	}

	function buildTarget(target) {
		const app = document.getElementById("app");
		const head = el("div", { id: "head" });
		const locs = el("section", { class: "locs", id: "locs" });
		const checks = el("section", { class: "locs checks", id: "checks", hidden: true });
		const canvas = el("canvas", { class: "chart", id: "latency-chart", role: "img", "aria-label": "Handshake latency over time" });
		const tip = el("div", { class: "tip" });
		const wrap = el("div", { class: "chart-wrap" }, canvas, tip);
		const ranges = el("div", { class: "chips" }, ...[[1, "1 h"], [6, "6 h"], [24, "24 h"], [168, "7 d"]].map(([h, label]) =>
			el("button", { class: "chip" + (ui.hours === h ? " on" : ""), text: label, data: { hours: h },
				onclick: () => { ui.hours = h; loadTarget(); } })));
		const locSel = el("select", { class: "chip", "aria-label": "Latency location" });
		locSel.addEventListener("change", () => { ui.chartLoc = locSel.value; paintChart(); });
		const legend = el("div", { class: "legend" },
			...SERIES.map((s) => el("span", {}, el("i", { style: "background:" + s.color }), s.key)),
			el("span", {}, el("i", { style: "background:rgba(220,38,38,.7);height:8px" }), "loss"));
		const stats = el("div", { class: "stats", id: "stats" });
		const events = el("ul", { class: "list", id: "target-events" });
		const errorBox = el("div", { class: "error-box", hidden: true });
		app.replaceChildren(
			el("div", { class: "crumb" }, el("a", { href: "#/", text: "← Overview" })),
			errorBox, head, locs, checks,
			el("section", { class: "panel" },
				el("h2", { class: "chart-head" }, "Handshake latency", el("span", { class: "spacer" }), legend, locSel, ranges),
				stats, wrap),
			el("section", { class: "panel" }, el("h2", { text: "Events" }), events));
		tv = { target, head, locs, checks, canvas, tip, wrap, ranges, locSel, stats, events, errorBox, data: null, geo: null };
		attachTooltip(wrap, canvas, tip, () => tv && tv.geo);
	}

	function stat(k, v) {
		return el("div", { class: "stat" }, el("div", { class: "k", text: k }), el("div", { class: "v", text: v }));
	}

	function paintChart() {
		const d = tv.data;
		if (!d) return;
		const lat = d.latency;
		const rows = ui.chartLoc ? lat.by_location[ui.chartLoc] || [] : lat.merged;
		const sum = (ui.chartLoc ? lat.summary_by_location[ui.chartLoc] : lat.summary)[0];
		const total = sum[1] + sum[2];
		tv.stats.replaceChildren(stat("p50", fmtRtt(sum[3])), stat("p95", fmtRtt(sum[4])), stat("p99", fmtRtt(sum[5])),
			stat("max", fmtRtt(sum[6])), stat("checks", String(total)),
			stat("loss", total ? (100 * sum[2] / total).toFixed(2) + "%" : "–"));
		// a target watched for less than the range: start where its records do
		let from = lat.from;
		if (rows.length && rows[0][0] - lat.from > (lat.to - lat.from) / 10)
			from = rows[0][0] - lat.step;
		tv.geo = drawChart(tv.canvas, rows, from, lat.to, lat.step);
	}

	function renderTarget() {
		const d = tv.data;
		const t0 = now();
		const worst = d.locations.map((l) => l.state).sort((a, b) => STATES.indexOf(a) - STATES.indexOf(b))[0] || "unknown";
		tv.head.replaceChildren(
			el("div", { class: "headline" }, el("h1", { text: d.name || d.target }), el("span", { class: "mono", text: d.target }),
				pill(worst), d.group ? el("span", { class: "muted", text: "group " + d.group }) : null),
			el("div", { class: "labels" }, ...Object.entries(d.labels || {}).map(([k, v]) =>
				el("span", { class: "label-chip" }, el("b", { text: k }), "=" + v))));
		document.title = (d.name || d.target) + " · synwatch";
		tv.locs.replaceChildren(...d.locations.map((l) => el("div", { class: "loc s-" + l.state, style: "--c: var(--" + l.state + ")", data: { location: l.location } },
			el("div", { class: "top" }, el("span", { class: "name", text: l.location }), pill(l.state)),
			el("dl", {},
				el("dt", { text: "since" }), el("dd", { title: l.since ? new Date(l.since * 1000).toString() : "",
					text: l.since ? fmtAge(t0 - l.since) + " (" + fmtClock(l.since, t0 - l.since > 86400) + ")" : "–" }),
				el("dt", { text: "reason" }), el("dd", { text: l.reason || "–" }),
				el("dt", { text: "last check" }), el("dd", { text: (l.last_result || "–") + (l.last_ts ? ", " + fmtAge(t0 - l.last_ts) + " ago" : "") }),
				el("dt", { text: "last RTT" }), el("dd", { class: "mono", text: fmtRtt(l.last_rtt_us) }),
				el("dt", { text: "prober" }), el("dd", { class: "mono", text: l.prober || "–" })))));
		renderChecks(d, t0);
		const locNames = Object.keys(d.latency.by_location);
		const want = ["", ...locNames].join("\n");
		if (tv.locSel.dataset.locs !== want) {
			tv.locSel.replaceChildren(el("option", { value: "", text: "All locations" }),
				...locNames.map((l) => el("option", { value: l, text: l })));
			tv.locSel.dataset.locs = want;
		}
		if (ui.chartLoc && !locNames.includes(ui.chartLoc)) ui.chartLoc = "";
		tv.locSel.value = ui.chartLoc;
		for (const c of tv.ranges.children) c.classList.toggle("on", Number(c.dataset.hours) === ui.hours);
		paintChart();
		tv.events.replaceChildren(...(d.events.length ? d.events.map((e) => eventItem(e, false))
			: [el("li", { class: "empty", text: "No events among the latest 10,000" })]));
	}

	// The service check as each location saw it last: its verdict, the
	// server's words, the banner, and the certificate with its TLS.
	function renderChecks(d, t0) {
		const withCheck = d.locations.filter((l) => l.check);
		tv.checks.hidden = !withCheck.length;
		tv.checks.replaceChildren(...withCheck.map((l) => {
			const c = l.check;
			const verdictCls = c.ok === false || c.verdict === "cert_expired" || c.verdict === "cert_unverified" ? "bad"
				: c.verdict === "cert_expiring" ? "warn" : "ok";
			const rows = [
				["check", el("span", { class: "mono", text: c.kind })],
				["verdict", el("span", { class: "flag " + verdictCls, data: { verdict: c.verdict }, text: (c.verdict || "–").replace("_", " ") })],
				["last error", el("span", { class: c.error ? "check-error" : "muted", data: { field: "error" }, text: c.error || "–" })],
				["banner", el("span", { class: "mono", data: { field: "banner" }, text: c.banner || "–" })],
				["checked", c.ts ? fmtAge(t0 - c.ts) + " ago (" + fmtClock(c.ts, t0 - c.ts > 86400) + ")" : "–"],
				["took", fmtRtt(c.us)],
			];
			if (c.tls) rows.push(["TLS", el("span", { class: "mono", data: { field: "tls" }, text: c.tls.version + " · " + c.tls.cipher })]);
			if (c.cert) {
				const cert = c.cert;
				const daysCls = certExpired(c) ? "bad" : certExpiring(c) ? "warn" : "ok";
				rows.push(
					["subject", el("span", { class: "mono", data: { field: "subject" }, text: cert.subject || "–" })],
					["issuer", el("span", { class: "mono", data: { field: "issuer" }, text: cert.issuer || "–" })],
					["SANs", el("span", { class: "mono", data: { field: "sans" }, text: (cert.sans || []).join(", ") || "–" })],
					["not after", el("span", { data: { field: "not_after" }, title: new Date(cert.not_after * 1000).toString(),
						text: new Date(cert.not_after * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC" })],
					["days left", el("span", { class: "flag " + daysCls, data: { field: "days_left" },
						text: (cert.days_left === null ? "–" : String(cert.days_left)) + " · " + certDays(cert.days_left) })],
					["verified", el("span", { class: "flag " + (cert.verified ? "ok" : "warn"), data: { field: "verified" },
						text: cert.verified === null ? "–" : cert.verified ? "yes" : "no" + (cert.error ? ": " + cert.error : "") })]);
			}
			const color = verdictCls === "ok" ? "up" : verdictCls === "warn" ? "degraded" : "down";
			return el("div", { class: "loc check-card", style: "--c: var(--" + color + ")", data: { checkLocation: l.location, check: c.kind } },
				el("div", { class: "top" }, el("span", { class: "name", text: "Service check · " + l.location }),
					el("span", { class: "flag " + (c.ok ? "ok" : "bad"), text: c.ok ? "passed" : "failed" })),
				el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)])));
		}));
	}

	async function loadTarget() {
		if (!tv) return;
		const target = tv.target;
		let d;
		try {
			d = await getJSON("api/target?" + new URLSearchParams({ t: target, hours: ui.hours }));
		} catch (e) {
			tv.errorBox.hidden = false;
			tv.errorBox.textContent = e.message;
			return;
		}
		if (!tv || tv.target !== target) return;
		tv.errorBox.hidden = true;
		tv.data = d;
		renderTarget();
	}

	// ---- routing ----

	function route(force) {
		const h = location.hash || "#/";
		const m = h.match(/^#\/target\/(.+)$/);
		clearInterval(ui.timer);
		if (m) {
			const target = decodeURIComponent(m[1]);
			if (force || ui.route !== "target:" + target) {
				ui.route = "target:" + target;
				ov = null;
				buildTarget(target);
			}
			loadTarget();
			refreshSummaryOnly();
			ui.timer = setInterval(loadTarget, TARGET_EVERY);
		} else {
			if (force || ui.route !== "overview") {
				ui.route = "overview";
				tv = null;
				document.title = "synwatch";
				buildOverview();
			}
			refreshOverview();
			ui.timer = setInterval(refreshOverview, OVERVIEW_EVERY);
		}
	}

	// the header (connection, locations) on pages other than the overview
	async function refreshSummaryOnly() {
		try {
			const s = await getJSON("api/summary");
			ui.summary = s;
			setConn(s.redis.ok, s.redis.ok ? "updated " + fmtClock(s.now) : (s.redis.error || "redis unreachable"));
			fillLocations(s.locations);
		} catch (e) {
			setConn(false, e.message);
		}
	}

	window.addEventListener("hashchange", () => route(false));
	window.addEventListener("resize", () => { if (tv && tv.data) paintChart(); });
	route(true);
})();
