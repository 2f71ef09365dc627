// oci-view's page (bin/view/page.js): draws the data oci-view embedded in
// the element with id "data".  Every name in it came from an image, so it
// only ever becomes text (textContent), never markup.
'use strict';
const D = JSON.parse(document.getElementById('data').textContent);
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
	const e = document.createElement(tag);
	if (cls) e.className = cls;
	if (text !== undefined && text !== null) e.textContent = String(text);
	return e;
}
function add(parent, ...kids) { for (const k of kids) if (k) parent.appendChild(k); return parent; }
function size(n) {
	if (n === undefined || n === null) return '?';
	const u = ['B', 'kB', 'MB', 'GB', 'TB'];
	let i = 0;
	while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
	return (i ? n.toFixed(1) : n) + ' ' + u[i];
}
// A digest as people read it, the whole of it on focus (and selectable).
function digest(d) {
	const s = String(d || ''), short = s.slice(0, s.indexOf(':') + 13);
	const c = el('code', 'digest', short);
	c.title = s;
	c.tabIndex = 0;
	c.addEventListener('focus', () => { c.textContent = s; });
	c.addEventListener('blur', () => { c.textContent = short; });
	return c;
}
function kindOf(mt) {
	mt = String(mt || '');
	if (/index|manifest\.list/.test(mt)) return 'index';
	if (/manifest/.test(mt)) return 'manifest';
	if (/config|container\.image/.test(mt)) return 'config';
	if (/layer|rootfs/.test(mt)) return 'layer';
	return 'blob';
}
function platform(p) {
	if (!p) return '';
	return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
function node(desc, picked, extra) {
	const n = el('div', 'node' + (picked ? ' picked' : ''));
	add(n, el('span', 'kind', kindOf(desc.mediaType)), digest(desc.digest),
		el('span', 'meta', ' ' + size(desc.size) + ' · ' + desc.mediaType +
			(desc.platform ? ' · ' + platform(desc.platform) : '') + (extra ? ' · ' + extra : '')));
	return n;
}

// ---- the chain
function drawChain() {
	const c = D.chain, root = el('ul', 'tree-chain');
	const mfest = el('li');
	add(mfest, node(c.manifest_desc, true, c.index ? 'this page shows it' : ''));
	const below = el('ul');
	add(below, add(el('li'), node(c.manifest.config)));
	(c.manifest.layers || []).forEach((l, i) => add(below, add(el('li'), node(l, false, 'layer ' + (i + 1)))));
	mfest.appendChild(below);
	const top = el('li');
	add(top, add(el('div', 'node'), el('span', 'kind', 'index.json'),
		el('span', 'meta', D.image ? String(D.image) : '')));
	const under = el('ul');
	if (c.index) {
		const ix = el('li');
		add(ix, node(c.top));
		const ms = el('ul');
		for (const m of c.index.manifests || []) {
			if (m.digest === c.manifest_desc.digest) ms.appendChild(mfest);
			else add(ms, add(el('li'), node(m)));
		}
		ix.appendChild(ms);
		under.appendChild(ix);
	} else {
		under.appendChild(mfest);
	}
	top.appendChild(under);
	root.appendChild(top);
	$('chain').appendChild(root);
	$('chain-section').hidden = false;
}

// ---- the layer stack
function drawStack() {
	const hist = (D.config && D.config.history) || [], layers = D.layers;
	const max = Math.max(1, ...layers.map((l) => l.tar_size));
	let li = 0;
	const band = (l) => {
		const b = el('div', 'band');
		add(b, el('strong', null, 'layer ' + l.layer + ' '), digest(l.desc.digest),
			el('span', null, ' ' + size(l.desc.size) + ' compressed, ' + size(l.tar_size) + ' as a tar · ' +
				l.added + ' added, ' + l.modified + ' modified, ' + l.deleted + ' deleted · '),
			el('span', 'waste', size(l.wasted) + ' wasted'));
		const bar = el('div', 'bar');
		bar.style.width = Math.max(0.5, 100 * l.tar_size / max) + '%';
		b.appendChild(bar);
		return b;
	};
	const bands = [];
	for (const h of hist) {
		if (h.empty_layer) {
			const b = el('div', 'band empty');
			add(b, el('strong', null, 'no layer '), el('span', 'by', h.created_by || h.comment || ''));
			bands.push(b);
		} else if (li < layers.length) {
			const b = band(layers[li++]);
			b.appendChild(el('span', 'by', h.created_by || h.comment || ''));
			bands.push(b);
		}
	}
	while (li < layers.length) bands.push(band(layers[li++]));
	if (D.upper) {
		const b = el('div', 'band upper');
		const n = { A: 0, M: 0, D: 0 };
		for (const c of D.changes) if (c[1] === layers.length + 1 && !c[6]) n[c[2]]++;
		add(b, el('strong', null, 'the upper directory '), el('span', 'mono', D.upper),
			el('span', null, ' · ' + n.A + ' added, ' + n.M + ' modified, ' + n.D + ' deleted'));
		bands.push(b);
	}
	for (const b of bands) $('stack').appendChild(b);
	$('stack-section').hidden = false;
}

// ---- the file system: one node per path, its changes bottom layer first
const root = { name: '/', path: '/', kids: new Map(), ev: [] };
const byPath = new Map([['/', root]]);
function nodeFor(path) {
	let n = byPath.get(path);
	if (n) return n;
	const cut = path.lastIndexOf('/');
	const parent = nodeFor(cut > 0 ? path.slice(0, cut) : '/');
	n = { name: path.slice(cut + 1), path: path, kids: null, ev: [] };
	if (!parent.kids) parent.kids = new Map();
	parent.kids.set(n.name, n);
	byPath.set(path, n);
	return n;
}
function layerName(l) { return D.upper && l === D.layers.length + 1 ? 'upper' : 'L' + l; }
function tags(n) {
	const out = [], last = n.ev[n.ev.length - 1];
	if (!last) return out;
	if (n.opaque) out.push(el('span', 'tag gone', 'opaque in ' + n.opaque.map(layerName).join(', ')));
	if (last.c === 'D') out.push(el('span', 'tag gone', (last.o ? 'hidden by its opaque directory in ' : 'deleted in ') + layerName(last.l)));
	else out.push(el('span', 'tag ' + (layerName(last.l) === 'upper' ? 'upper' : 'layer'), layerName(last.l)));
	const hidden = n.ev.slice(0, -1).filter((e) => e.c !== 'D').map((e) => layerName(e.l));
	if (hidden.length) out.push(el('span', 'tag hides', (last.c === 'D' ? 'still in ' : 'hides ') + hidden.join(', ')));
	return out;
}
const shown = new Map();	// path -> its <li>, once drawn
function item(n) {
	const li = el('li');
	const last = n.ev[n.ev.length - 1];
	if (last && last.c === 'D') li.className = 'deleted';
	const isDir = n.kids || (last && last.t === 'dir');
	const label = (n.name) + (isDir ? '/' : '') + (last && last.t === 'symlink' ? ' (symlink)' : '');
	if (isDir && n.kids) {
		const d = el('details'), s = el('summary');
		add(s, el('span', 'name', label), ...tags(n), el('span', 'tag', n.kids.size + ' entries'));
		d.appendChild(s);
		d.addEventListener('toggle', () => { if (d.open && !d.lastChild.matches('ul')) d.appendChild(list(n)); });
		li.appendChild(d);
	} else {
		add(li, el('span', 'name', label), ...tags(n),
			last && last.t === 'file' && last.c !== 'D' ? el('span', 'tag', size(last.s)) : null);
	}
	shown.set(n.path, li);
	return li;
}
// A directory's children, drawn when it is first opened.
function list(dir) {
	const ul = el('ul');
	const kids = [...dir.kids.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
	for (const k of kids) ul.appendChild(item(k));
	return ul;
}
function drawTree() {
	for (const c of D.changes) {
		nodeFor(c[0]).ev.push({ l: c[1], c: c[2], t: c[3], s: c[4], from: c[5], o: c[7] });
		// A path hidden by an opaque directory: that directory is opaque in that layer.
		if (c[7]) {
			const d = nodeFor(c[0].slice(0, c[0].lastIndexOf('/')) || '/');
			if (!d.opaque) d.opaque = [];
			if (!d.opaque.includes(c[1])) d.opaque.push(c[1]);
		}
	}
	$('tree').appendChild(list(root));
	$('fs-section').hidden = false;
	$('search').addEventListener('submit', (ev) => { ev.preventDefault(); which($('q').value, true); });
	window.addEventListener('hashchange', fromHash);
	fromHash();
}
function describe(l) {
	if (D.upper && l === D.layers.length + 1) return 'the upper directory ' + D.upper;
	const x = D.layers[l - 1];
	return 'layer ' + l + ' (digest ' + x.desc.digest + ', diff_id ' + x.diff_id + ')';
}
// "Which layer ships this file": the answer is the text of #which.
function which(q, reveal) {
	let p = String(q).trim().replace(/\/+$/, '');
	if (!p.startsWith('/')) p = '/' + p;
	const n = byPath.get(p), ev = n ? n.ev : [];
	const last = ev[ev.length - 1];
	let text;
	if (!last) text = p + ': not in the rootfs';
	else if (last.c === 'D') text = p + ': deleted in ' + describe(last.l) +
		(last.o ? ', hidden by its directory\'s opaque marker' : '');
	else text = p + ': ' + describe(last.l);
	const earlier = ev.slice(0, -1).filter((e) => e.c !== 'D').map((e) => e.l);
	if (earlier.length) text += '; ' + (last.c === 'D' ? 'still shipped by' : 'hides the version in') +
		' layer ' + earlier.join(', layer ');
	$('which').textContent = text;
	if (reveal && n) open(n);
}
// Open the directories down to n and mark it.
function open(n) {
	const parts = n.path.split('/').filter(Boolean);
	let p = '';
	for (let i = 0; i < parts.length - 1; i++) {
		p += '/' + parts[i];
		const li = shown.get(p);
		const d = li && li.firstChild;
		if (d && d.tagName === 'DETAILS' && !d.open) { d.open = true; if (!d.lastChild.matches('ul')) d.appendChild(list(byPath.get(p))); }
	}
	for (const x of document.querySelectorAll('.found')) x.classList.remove('found');
	const li = shown.get(n.path);
	if (li) { li.classList.add('found'); li.scrollIntoView({ block: 'center' }); }
}
function fromHash() {
	const h = location.hash;
	if (!h.startsWith('#which=')) return;
	let q;
	try { q = decodeURIComponent(h.slice(7)); } catch (e) { q = h.slice(7); }
	$('q').value = q;
	which(q, true);
}

// ---- the config
function drawConfig() {
	const c = (D.config && D.config.config) || {}, dl = $('config');
	const show = (k, v) => { add(dl, el('dt', null, k), el('dd', null, v)); };
	show('Platform', platform(D.config));
	for (const k of ['Entrypoint', 'Cmd']) show(k, c[k] ? JSON.stringify(c[k]) : '(none)');
	show('Env', (c.Env || []).join('\n') || '(none)');
	show('WorkingDir', c.WorkingDir || '(none: /)');
	show('User', c.User || '(none: root)');
	show('Labels', Object.entries(c.Labels || {}).map(([k, v]) => k + '=' + v).join('\n') || '(none)');
	show('ExposedPorts', Object.keys(c.ExposedPorts || {}).join(' ') || '(none)');
	$('config-section').hidden = false;
}

// ---- the store
function drawStore() {
	const all = D.list || [];
	let cs = all.filter((o) => o.container !== undefined);
	if (D.name) cs = cs.filter((o) => o.container === D.name || String(o.id).startsWith(D.name));
	const used = new Set();
	for (const c of cs) for (const l of c.lower.slice(1)) used.add(l);
	const layers = all.filter((o) => o.layer !== undefined && (!D.name || used.has(o.layer)));
	const box = el('div', 'containers');
	for (const c of cs) {
		const b = el('div', 'container');
		add(b, el('strong', null, 'container ' + c.container), el('div', 'meta', 'image ' + (c.image || '?') + (c.mounted ? ' · mounted' : '')));
		const t = el('table');
		const row = (a, bb, cc) => add(t, add(el('tr'), el('td', null, a), el('td', 'mono', bb), el('td', null, cc)));
		row('upper', c.id + '/diff', size(c.disk) + ' (with work/ and merged/)' + (c.link ? ' · l/' + c.link : ''));
		row('work', c.id + '/work', '');
		row('merged', c.id + '/merged', c.mounted ? 'mounted' : 'not mounted');
		row('init', c.id + '-init/diff', size(c.init_disk) + (c.init_link ? ' · l/' + c.init_link : ''));
		c.lower.slice(1).forEach((l, i) => row('lower ' + (i + 1) + (i ? '' : ' (top)'), l.slice(0, 12) + '…/diff', 'an image layer, in the table below'));
		b.appendChild(t);
		box.appendChild(b);
	}
	$('store').appendChild(box);
	$('store').appendChild(el('h3', null, 'Image layers, each stored once'));
	const t = el('table');
	add(t, add(el('tr'), el('th', null, 'layer (chain id)'), el('th', null, 'short link'), el('th', null, 'disk'), el('th', null, 'used by')));
	for (const l of layers) {
		add(t, add(el('tr'), add(el('td'), digest('sha256:' + l.layer)), el('td', 'mono', l.link),
			el('td', null, size(l.disk)), el('td', 'used-by', (l.used_by || []).slice().sort().join(', '))));
	}
	$('store').appendChild(t);
	$('store-section').hidden = false;
}

if (D.view === 'store') {
	document.title = 'oci-view: store ' + D.store;
	$('title').textContent = 'Store ' + D.store;
	drawStore();
} else {
	document.title = 'oci-view: ' + D.image;
	$('title').textContent = D.image;
	$('subtitle').textContent = D.layers.length + ' layers' + (D.upper ? ' and the upper directory ' + D.upper : '');
	drawChain();
	drawStack();
	drawTree();
	drawConfig();
}
// When the page was drawn, in ms since navigation began, and when it had
// loaded: tests/bench/view.sh reads them from the DOM.
document.body.dataset.drawnMs = Math.round(performance.now());
window.addEventListener('load', () => { document.body.dataset.loadedMs = Math.round(performance.now()); });
