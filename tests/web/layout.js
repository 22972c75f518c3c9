// The status page's layout at a width, measured in Chromium:
// tests/integration/test_consumers.sh serves a copy of index.html that loads
// this file too, opens it at phone, tablet and desktop widths and dumps the
// DOM. Chromium's window is at least 500 px wide: a narrower width comes as
// ?w=N in the query, and the page is then laid out N px wide (the same
// media queries apply below 640). After the page has drawn, the problems go
// into <pre id="layout"> as JSON: something sticks out sideways (not inside
// a box that scrolls or clips), or a card, panel, location box or bar leaves
// the width or overlaps another of its kind, or a card's text is cut.
"use strict";
const want = Number(new URLSearchParams(location.search).get("w")) || 0;
if (want && want < document.documentElement.clientWidth) {
	document.documentElement.style.width = want + "px";
	document.documentElement.style.overflowX = "hidden";
}
setTimeout(() => {
	const w = want || document.documentElement.clientWidth;
	const problems = [];
	const counts = {};
	const clipped = e => {
		for (let a = e.parentElement; a && a !== document.documentElement; a = a.parentElement) {
			const o = getComputedStyle(a).overflowX;
			if ((o === "auto" || o === "scroll" || o === "hidden") && a.getBoundingClientRect().right <= w + 1)
				return true;
		}
		return false;
	};
	const out = [...document.body.querySelectorAll("*")].filter(e => {
		const r = e.getBoundingClientRect();
		if (r.width === 0 || r.right <= w + 1 || clipped(e))
			return false;
		const p = e.parentElement.getBoundingClientRect();
		return p.right <= w + 1 || e.parentElement === document.body;
	});
	if (out.length)
		problems.push("sticks out of " + w + " px: " + out.slice(0, 3).map(e => e.tagName.toLowerCase() +
			(e.className ? "." + String(e.className).split(" ")[0] : "") + " to " +
			Math.round(e.getBoundingClientRect().right)).join(", "));
	const overlap = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
	for (const sel of [".card", ".panel", ".loc", ".topbar", ".checkbar", ".stat"]) {
		const bs = [...document.querySelectorAll(sel)].map(e => e.getBoundingClientRect())
			.filter(r => r.width > 0 && r.height > 0);
		counts[sel] = bs.length;
		bs.forEach((r, i) => {
			if (r.left < -1 || r.right > w + 1)
				problems.push(sel + " #" + i + " leaves the width: " + Math.round(r.left) + ".." + Math.round(r.right));
			for (let j = 0; j < i; j++)
				if (overlap(r, bs[j]))
					problems.push(sel + " #" + i + " overlaps #" + j);
		});
	}
	for (const e of document.querySelectorAll(".card .value, .card .label"))
		if (e.scrollWidth > e.clientWidth + 1)
			problems.push("cut: '" + e.textContent + "' in a card");
	const pre = document.createElement("pre");
	pre.id = "layout";
	pre.textContent = JSON.stringify({ width: w, counts: counts, problems: problems });
	document.body.appendChild(pre);
}, 2500);
