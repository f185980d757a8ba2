// Softphone: calls a route of the ivrflow media worker over WebRTC.
// Signalling is one HTTP exchange (POST /calls with the complete offer,
// the answer in the response); DTMF goes as RFC 4733 events; the call's
// transcript is polled from GET /calls/ID. A worker that requires an
// access token gets it as "Authorization: Bearer TOKEN" on each of these;
// the page asks for it, or takes it from the address (#token=...), and
// keeps it for the tab's session. window.phone is the same softphone for
// automation.
'use strict';

(() => {
  const KEYS = '123456789*0#';
  const ICE_TIMEOUT_MS = 3000;
  const POLL_MS = 500;
  const TOKEN_KEY = 'ivrflow-media-token';
  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $('dial'), route: $('route'), routeDescription: $('route-description'),
    call: $('call'), hangup: $('hangup'), status: $('status'), error: $('error'),
    keypad: $('keypad'), sent: $('sent'), transcript: $('transcript'), audio: $('remote'),
    auth: $('auth'), token: $('token'),
  };

  // The access token: from the address's fragment (never sent to a
  // server, and removed from the address bar here), else from this tab's
  // session.
  let token = '';
  try { token = sessionStorage.getItem(TOKEN_KEY) || ''; } catch (_) { /* storage off */ }

  // tokenFromAddress takes a token from #token=... in the address, if
  // there is one, and reports whether it did.
  function tokenFromAddress() {
    // Not URLSearchParams: it reads "+" as a space, and base64 tokens
    // have pluses.
    const m = /(?:^#|&)token=([^&]*)/.exec(window.location.hash);
    let fromHash = '';
    try { fromHash = m ? decodeURIComponent(m[1]) : ''; } catch (_) { fromHash = m[1]; }
    if (!fromHash) return false;
    token = fromHash;
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (_) { /* storage off */ }
    history.replaceState(null, '', window.location.pathname + window.location.search);
    return true;
  }
  tokenFromAddress();

  // withAuth adds the access token, when there is one, to a fetch's headers.
  const withAuth = (headers = {}) => (token ? {...headers, Authorization: `Bearer ${token}`} : headers);

  // The state of the softphone; one call at a time.
  const st = {
    busy: false, // a call is being set up or is up
    attempt: null, // the call() in progress or up, to notice a hang-up meanwhile
    callId: null, callUrl: null, route: '',
    pc: null, stream: null, sender: null,
    serverState: '', endReason: '', transcript: [], sent: '',
    error: '', poller: null, pollFailures: 0,
  };

  const setStatus = (text) => { ui.status.textContent = text; };

  function setError(message) {
    st.error = message || '';
    ui.error.textContent = st.error;
    ui.error.hidden = !st.error;
  }

  function render() {
    const connected = !!st.pc && st.pc.connectionState === 'connected';
    ui.call.disabled = st.busy || !ui.route.value;
    ui.route.disabled = st.busy;
    ui.hangup.disabled = !st.busy;
    for (const b of ui.keypad.querySelectorAll('button')) b.disabled = !connected;
    ui.sent.textContent = st.sent;
  }

  // The message of an error response: the server's {"error": "..."} (or
  // echo's {"message": "..."}), else its text, else the status line.
  async function responseError(res) {
    const text = (await res.text().catch(() => '')).trim();
    try {
      const body = JSON.parse(text);
      for (const key of ['error', 'message']) {
        if (body && typeof body[key] === 'string' && body[key]) return body[key];
      }
    } catch (_) { /* not JSON */ }
    return text || `${res.status} ${res.statusText}`.trim();
  }

  // The STUN and TURN servers the media worker names for this call, with
  // credentials of their own; none from a worker that has no such page.
  async function loadIceServers() {
    const res = await fetch('/phone/config', {headers: withAuth({Accept: 'application/json'}), cache: 'no-store'});
    if (res.status === 404) return [];
    if (!res.ok) throw new Error(`The call's network settings: ${await responseError(res)}`);
    const {ice_servers: servers = []} = await res.json();
    return servers;
  }

  async function loadRoutes() {
    try {
      const res = await fetch('/phone/routes', {headers: withAuth({Accept: 'application/json'})});
      if (res.status === 401) {
        ui.route.replaceChildren();
        ui.auth.hidden = false;
        setStatus('This phone needs an access token.');
        if (token) setError(`The access token was refused: ${await responseError(res)}`);
        else setError('');
        ui.token.focus();
        describeRoute();
        render();
        return;
      }
      if (!res.ok) throw new Error(await responseError(res));
      ui.auth.hidden = true;
      setError('');
      const {routes = []} = await res.json();
      ui.route.replaceChildren(...routes.map((r) => {
        const o = new Option(r.name, r.name);
        o.dataset.description = r.description || '';
        if (r.flow && r.flow !== r.name) o.textContent += ` (${r.flow})`;
        return o;
      }));
      setStatus(routes.length ? 'Ready.' : 'No routes to call.');
    } catch (e) {
      setError(`Could not load the routes: ${e.message}`);
      setStatus('Not ready.');
    }
    describeRoute();
    render();
  }

  function describeRoute() {
    const o = ui.route.selectedOptions[0];
    ui.routeDescription.textContent = o ? o.dataset.description : '';
  }

  function microphoneError(e) {
    switch (e && e.name) {
      case 'NotAllowedError': case 'SecurityError':
        return 'Microphone access was refused. Allow the microphone for this page and call again.';
      case 'NotFoundError': case 'OverconstrainedError':
        return 'No microphone was found.';
      case 'NotReadableError': case 'AbortError':
        return 'The microphone could not be opened; another application may be using it.';
      default:
        return `The microphone could not be opened: ${e && e.message ? e.message : e}`;
    }
  }

  // Offer PCMU first, keeping telephone-event for DTMF and the other codecs
  // as fallbacks. The server answers PCMU; ordering only makes it certain.
  function preferPCMU(transceiver) {
    if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
    const caps = RTCRtpReceiver.getCapabilities('audio');
    if (!caps) return;
    const rank = (c) => {
      const m = c.mimeType.toLowerCase();
      return m === 'audio/pcmu' ? 0 : m === 'audio/telephone-event' ? 1 : 2;
    };
    const codecs = caps.codecs.slice().sort((a, b) => rank(a) - rank(b));
    if (rank(codecs[0]) !== 0) return;
    try {
      transceiver.setCodecPreferences(codecs);
    } catch (e) {
      console.warn('setCodecPreferences:', e);
    }
  }

  // Resolves when ICE gathering is complete, or after ms: non-trickle
  // signalling sends the offer with whatever candidates there are by then.
  function iceGathered(pc, ms) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      const done = () => {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', onState);
        pc.removeEventListener('icecandidate', onCandidate);
        resolve();
      };
      const onState = () => { if (pc.iceGatheringState === 'complete') done(); };
      const onCandidate = (e) => { if (!e.candidate) done(); };
      const timer = setTimeout(done, ms);
      pc.addEventListener('icegatheringstatechange', onState);
      pc.addEventListener('icecandidate', onCandidate);
    });
  }

  async function call(route) {
    if (st.busy) throw new Error('Already in a call; hang up first.');
    route = route || ui.route.value;
    if (!route) throw fail('Choose a route to call.');
    if ([...ui.route.options].some((o) => o.value === route)) ui.route.value = route;
    const attempt = {}; // a hang-up, or a new call, replaces st.attempt
    Object.assign(st, {attempt, busy: true, callId: null, callUrl: null, route, serverState: '', endReason: '', transcript: [], sent: '', pollFailures: 0});
    const live = () => { if (st.attempt !== attempt) throw new Error('Hung up before the call was answered.'); };
    setError('');
    ui.transcript.replaceChildren();
    render();
    try {
      if (!window.RTCPeerConnection) throw new Error('This browser does not support WebRTC.');
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw new Error('The microphone is only available on a secure page (https or localhost).');
      }
      setStatus('Opening the microphone…');
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false},
        });
      } catch (e) {
        throw new Error(microphoneError(e));
      }
      attempt.stream = stream;
      live();
      st.stream = stream;

      const iceServers = await loadIceServers();
      live();
      const pc = new RTCPeerConnection({iceServers});
      st.pc = pc;
      const transceiver = pc.addTransceiver(stream.getAudioTracks()[0], {direction: 'sendrecv', streams: [stream]});
      preferPCMU(transceiver);
      st.sender = transceiver.sender;
      pc.ontrack = (e) => {
        ui.audio.srcObject = e.streams[0] || new MediaStream([e.track]);
        ui.audio.play().catch((err) => console.warn('remote audio:', err));
      };
      pc.onconnectionstatechange = () => onConnectionState(pc);

      setStatus('Preparing the call…');
      await pc.setLocalDescription(await pc.createOffer());
      await iceGathered(pc, ICE_TIMEOUT_MS);
      live();
      const offer = pc.localDescription.sdp;
      if (!/^a=candidate:/m.test(offer)) throw new Error('No network path was found for the call (no ICE candidates).');

      setStatus(`Calling ${route}…`);
      const res = await fetch(`/calls?route=${encodeURIComponent(route)}`, {
        method: 'POST', headers: withAuth({'Content-Type': 'application/sdp', Accept: 'application/sdp'}), body: offer,
      });
      if (!res.ok) throw new Error(`The server refused the call: ${await responseError(res)}`);
      const location = res.headers.get('Location');
      if (!location) throw new Error('The server answered without a call location.');
      attempt.url = new URL(location, window.location.href).pathname;
      live();
      st.callUrl = attempt.url;
      st.callId = decodeURIComponent(attempt.url.split('/').filter(Boolean).pop());
      const answer = await res.text();
      live();
      await pc.setRemoteDescription({type: 'answer', sdp: answer});
      live();
      setStatus(`Connecting to ${route}…`);
      startPolling();
      render();
      return st.callId;
    } catch (e) {
      const message = e && e.message ? e.message : String(e);
      if (attempt.url) fetch(attempt.url, {method: 'DELETE', headers: withAuth()}).catch(() => {});
      if (st.attempt !== attempt) { // hung up meanwhile: release only what is ours
        if (attempt.stream) for (const t of attempt.stream.getTracks()) t.stop();
        throw new Error(message);
      }
      teardown();
      setError(message);
      setStatus('Call failed.');
      render();
      throw new Error(message);
    }
  }

  function fail(message) {
    setError(message);
    return new Error(message);
  }

  function onConnectionState(pc) {
    if (pc !== st.pc) return;
    switch (pc.connectionState) {
      case 'connected': setStatus(`In a call with ${st.route}.`); break;
      case 'disconnected': setStatus('The connection is interrupted…'); break;
      case 'failed':
        setError('The media connection failed.');
        hangup().catch(() => {});
        break;
    }
    render();
  }

  // Releases the peer connection and the microphone; keeps what is shown.
  function teardown() {
    stopPolling();
    if (st.pc) {
      st.pc.onconnectionstatechange = null;
      st.pc.ontrack = null;
      st.pc.close();
    }
    if (st.stream) for (const t of st.stream.getTracks()) t.stop();
    ui.audio.srcObject = null;
    Object.assign(st, {attempt: null, pc: null, stream: null, sender: null, busy: false});
  }

  async function hangup() {
    if (!st.busy) return;
    const url = st.callUrl;
    teardown();
    setStatus('Hung up.');
    render();
    if (!url) return;
    try {
      const res = await fetch(url, {method: 'DELETE', headers: withAuth()});
      if (!res.ok && res.status !== 404) setError(`Hanging up: ${await responseError(res)}`);
    } catch (e) {
      setError(`Hanging up: ${e.message}`);
    }
    await refresh(url); // the end of the transcript
  }

  function press(keys) {
    keys = String(keys).toUpperCase();
    if (!/^[0-9A-D#*,]+$/.test(keys)) throw new Error(`Not DTMF keys: ${JSON.stringify(keys)}`);
    const dtmf = st.sender && st.sender.dtmf;
    if (!dtmf) throw new Error('Not in a call.');
    if (!dtmf.canInsertDTMF) throw new Error('The call cannot send DTMF (not connected yet, or no telephone-event).');
    // insertDTMF replaces the tones not yet sent: add to them instead.
    dtmf.insertDTMF(dtmf.toneBuffer + keys, 100, 70);
    st.sent += keys.replace(/,/g, '');
    render();
  }

  function startPolling() {
    stopPolling();
    const url = st.callUrl;
    const tick = async () => {
      await refresh(url);
      if (st.callUrl === url && st.busy) st.poller = setTimeout(tick, POLL_MS);
    };
    st.poller = setTimeout(tick, 0);
  }

  function stopPolling() {
    clearTimeout(st.poller);
    st.poller = null;
  }

  async function refresh(url) {
    let body;
    try {
      const res = await fetch(url, {headers: withAuth({Accept: 'application/json'}), cache: 'no-store'});
      if (res.status === 404) body = {state: 'terminated', end_reason: st.endReason || 'gone'};
      else if (!res.ok) throw new Error(await responseError(res));
      else body = await res.json();
      st.pollFailures = 0;
    } catch (e) {
      if (++st.pollFailures === 5) setError(`Lost contact with the server: ${e.message}`);
      return;
    }
    if (url !== st.callUrl) return;
    st.serverState = body.state || '';
    st.endReason = body.end_reason || '';
    showTranscript(body.transcript || []);
    if (st.serverState === 'terminated') {
      if (st.busy) teardown();
      setStatus(st.endReason ? `Call ended: ${st.endReason}.` : 'Call ended.');
      render();
    }
  }

  function showTranscript(entries) {
    if (entries.length < st.transcript.length) ui.transcript.replaceChildren();
    for (const e of entries.slice(ui.transcript.children.length)) {
      const li = document.createElement('li');
      const at = document.createElement('time');
      at.textContent = `${((e.at_ms || 0) / 1000).toFixed(1)} s`;
      const kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = e.kind || '';
      li.append(at, kind, document.createTextNode(e.text || ''));
      ui.transcript.append(li);
    }
    st.transcript = entries;
  }

  function flash(key) {
    const b = ui.keypad.querySelector(`button[data-key="${CSS.escape(key)}"]`);
    if (!b) return;
    b.classList.add('pressed');
    setTimeout(() => b.classList.remove('pressed'), 150);
  }

  function pressFromUI(key) {
    try {
      press(key);
      flash(key);
    } catch (e) {
      setError(e.message);
    }
  }

  async function stats() {
    if (!st.pc) throw new Error('Not in a call.');
    const report = await st.pc.getStats();
    const out = {packetsReceived: 0, totalAudioEnergy: 0, codec: '', packetsSent: 0, sendCodec: ''};
    const mime = (id) => (id && report.get(id) ? report.get(id).mimeType : '');
    report.forEach((s) => {
      if (s.kind !== 'audio') return;
      if (s.type === 'inbound-rtp') {
        out.packetsReceived = s.packetsReceived || 0;
        out.totalAudioEnergy = s.totalAudioEnergy || 0;
        out.codec = mime(s.codecId);
      } else if (s.type === 'outbound-rtp') {
        out.packetsSent = s.packetsSent || 0;
        out.sendCodec = mime(s.codecId);
      }
    });
    return out;
  }

  function state() {
    const dtmf = st.sender && st.sender.dtmf;
    return {
      callId: st.callId,
      route: st.route,
      pcState: st.pc ? st.pc.connectionState : 'closed',
      canInsertDTMF: !!(dtmf && dtmf.canInsertDTMF),
      error: st.error,
      status: ui.status.textContent,
      serverState: st.serverState,
      endReason: st.endReason,
      sent: st.sent,
      transcript: st.transcript,
    };
  }

  ui.route.addEventListener('change', () => { describeRoute(); render(); });
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    call().catch(() => {}); // shown on the page
  });
  window.addEventListener('hashchange', () => { if (tokenFromAddress()) loadRoutes(); });
  ui.auth.addEventListener('submit', (e) => {
    e.preventDefault();
    token = ui.token.value.trim();
    ui.token.value = '';
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) { /* storage off */ }
    loadRoutes();
  });
  ui.hangup.addEventListener('click', () => { hangup().catch((e) => setError(e.message)); });
  ui.keypad.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-key]');
    if (b) pressFromUI(b.dataset.key);
  });
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.key.length !== 1 || !KEYS.includes(e.key)) return;
    if (!st.pc || e.target.closest('select, input, textarea')) return;
    e.preventDefault();
    pressFromUI(e.key);
  });
  window.addEventListener('pagehide', () => {
    if (st.callUrl && st.busy) fetch(st.callUrl, {method: 'DELETE', headers: withAuth(), keepalive: true}).catch(() => {});
  });

  window.phone = {call, press, hangup, state, stats, reloadRoutes: loadRoutes};
  loadRoutes();
})();
