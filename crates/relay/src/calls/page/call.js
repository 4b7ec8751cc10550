// OnAir browser guest: sign in, call an OnAir user or answer one, with the
// browser's RTCPeerConnection, over the relay's WebSocket protocol
// (docs/protocol.md, "Calls"). No build step, no third-party code.
//
// Test hooks (URL parameters): user, password (sign in at once), call=PEER
// (call PEER), answer=1 (accept the first incoming call; from=USER only from
// USER), consent=accept|decline (answer recording requests), record=1
// (request recording once connected), hangup_after_frames=N (hang up once N
// frames were decoded, and recording started if asked). Progress goes to
// the console as "ONAIR ..." lines.
'use strict';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const log = (msg) => console.log('ONAIR ' + msg);

let ws = null;
let me = null;
let nextId = 1;
const waiting = new Map(); // request id -> {resolve, reject}
let call = null; // {id, peer, caller, pc, local, remoteSet, queued, recording}
let iceServers = [];
let incoming = null; // {call_id, from}
let events = Promise.resolve();

function setState(s, extra) {
  $('state').textContent = s + (extra ? ' (' + extra + ')' : '');
  log('call state=' + s + (extra ? ' ' + extra : ''));
}

function show(id, on) { $(id).hidden = !on; }

function fail(msg) {
  $('error').textContent = msg;
  log('error ' + msg);
}

async function login(user, password) {
  const r = await fetch('/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message || ('sign-in failed: HTTP ' + r.status));
  return body;
}

function connect(token) {
  return new Promise((resolve, reject) => {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    ws = new WebSocket(scheme + location.host + '/v1/ws');
    ws.onopen = () => ws.send(JSON.stringify({ t: 'hello', v: 1, token }));
    ws.onerror = () => reject(new Error('cannot reach the relay'));
    ws.onclose = () => { if (call && call.pc) { setState('relay connection lost'); setTimeout(() => resume(token), 1000); } };
    ws.onmessage = (m) => {
      let f;
      try { f = JSON.parse(m.data); } catch (_) { return; }
      if (f.t === 'welcome') { me = f.user; resolve(); }
      else if (f.t === 'res') {
        const w = waiting.get(f.id);
        if (!w) return;
        waiting.delete(f.id);
        if (f.err) w.reject(Object.assign(new Error(f.err.message), { code: f.err.code }));
        else w.resolve(f.ok);
      } else if (f.t === 'event') {
        // One event at a time, in order: an offer must be applied before
        // the candidates that follow it.
        events = events.then(() => onEvent(f.ev)).catch((e) => fail(e.message));
      }
      else if (f.t === 'error') fail(f.code + ': ' + f.message);
    };
  });
}

// The relay connection dropped mid-call: reconnect and claim the call again
// (the relay keeps it for a grace period); the caller restarts ICE in case
// media broke too.
async function resume(token) {
  if (!call) return;
  try {
    await connect(token);
    await req({ op: 'call_resume', call_id: call.id });
    setState('connected', 'resumed');
    if (call.caller && call.pc && call.pc.connectionState !== 'connected') await offer(call, true);
  } catch (e) {
    // A failed reconnect closes the socket, whose onclose tries again.
    if (e.code === 'no_such_call' || e.code === 'not_participant') endCall('peer_lost');
    else log('resume failed: ' + e.message);
  }
}

function req(body) {
  const id = nextId++;
  ws.send(JSON.stringify({ t: 'req', id, body }));
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

async function fetchIceServers() {
  const r = await req({ op: 'ice_servers' });
  iceServers = r.ice_servers.map((s) => {
    const o = { urls: s.urls };
    if (s.username) { o.username = s.username; o.credential = s.credential; }
    return o;
  });
}

// Put H.264 first (every profile the browser has), then the rest, so an
// OnAir app that answers with H.264 finds it; Opus is the browser default.
function preferH264(pc) {
  if (!window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
  const caps = RTCRtpReceiver.getCapabilities('video');
  if (!caps) return;
  const h264 = caps.codecs.filter((c) => c.mimeType.toLowerCase() === 'video/h264');
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== 'video/h264');
  for (const t of pc.getTransceivers()) {
    if (t.receiver.track && t.receiver.track.kind === 'video' && t.setCodecPreferences && h264.length) {
      try { t.setCodecPreferences(h264.concat(rest)); } catch (e) { log('codec preferences refused: ' + e.message); }
    }
  }
}

async function startMedia() {
  // ?size=640x360 asks the camera for another size (the network benchmark matches OnAir's preset).
  const [w, h] = (params.get('size') || '1280x720').split('x').map((v) => Number(v) || 0);
  const video = { width: w > 0 && w <= 3840 ? w : 1280, height: h > 0 && h <= 2160 ? h : 720 };
  const local = await navigator.mediaDevices.getUserMedia({ video, audio: true });
  $('local').srcObject = local;
  return local;
}

function newPeer(c) {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: params.get('relay_only') ? 'relay' : 'all' });
  for (const t of c.local.getTracks()) pc.addTrack(t, c.local);
  preferH264(pc);
  pc.onicecandidate = (e) => {
    const cand = e.candidate && e.candidate.candidate
      ? { candidate: e.candidate.candidate, sdp_mid: e.candidate.sdpMid, sdp_m_line_index: e.candidate.sdpMLineIndex, username_fragment: e.candidate.usernameFragment }
      : null;
    req({ op: 'call_ice', call_id: c.id, candidate: cand }).catch((err) => log('ice refused ' + err.code));
  };
  pc.ontrack = (e) => {
    const v = $('remote');
    if (!v.srcObject) v.srcObject = new MediaStream();
    v.srcObject.addTrack(e.track);
    v.play().catch(() => {});
  };
  pc.onconnectionstatechange = () => {
    log('pc state=' + pc.connectionState);
    if (pc.connectionState === 'connected') {
      setState('connected');
      if (params.get('record') && !c.recording) record();
    }
    // Connectivity lost: the caller restarts ICE with a new offer.
    if (pc.connectionState === 'failed' && c.caller) offer(c, true);
  };
  c.pc = pc;
  c.queued = [];
  c.stats = setInterval(() => stats(c), 1000);
}

async function offer(c, restart) {
  const o = await c.pc.createOffer(restart ? { iceRestart: true } : {});
  await c.pc.setLocalDescription(o);
  await req({ op: 'call_sdp', call_id: c.id, kind: 'offer', sdp: c.pc.localDescription.sdp });
}

async function stats(c) {
  if (!c.pc) return;
  const r = await c.pc.getStats();
  let frames = 0, audio = 0, codec = '', sent = 0;
  // For bench/call-network.sh: Chromium's own freeze count and time, what it sent and its target.
  let freezes = 0, freezeMs = 0, bytesSent = 0, targetBps = 0, width = 0, height = 0;
  const codecs = new Map();
  r.forEach((s) => { if (s.type === 'codec') codecs.set(s.id, s.mimeType); });
  r.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      frames += s.framesDecoded || 0; codec = codecs.get(s.codecId) || codec;
      freezes += s.freezeCount || 0; freezeMs += Math.round((s.totalFreezesDuration || 0) * 1000);
      width = s.frameWidth || width; height = s.frameHeight || height;
    }
    if (s.type === 'outbound-rtp') { bytesSent += (s.bytesSent || 0) + (s.headerBytesSent || 0); targetBps += s.targetBitrate || 0; }
    if (s.type === 'inbound-rtp' && s.kind === 'audio') audio += s.packetsReceived || 0;
    if (s.type === 'outbound-rtp' && s.kind === 'video') sent += s.framesSent || 0;
  });
  // The candidate pair in use: host, srflx or relay (TURN), and where.
  let pair = '';
  r.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      const p = r.get(s.selectedCandidatePairId);
      const l = p && r.get(p.localCandidateId);
      if (l) pair = l.candidateType + '/' + (l.address || l.ip || '');
    }
  });
  $('stats').textContent = 'frames decoded ' + frames + ' · audio packets ' + audio + ' · ' + codec + ' · ' + pair;
  log('stats frames_decoded=' + frames + ' audio_packets_received=' + audio + ' frames_sent=' + sent + ' codec=' + codec + ' pair=' + pair +
    ' freezes=' + freezes + ' freeze_ms=' + freezeMs + ' bytes_sent=' + bytesSent + ' target_bps=' + Math.round(targetBps) + ' size=' + width + 'x' + height);
  const hangAt = Number(params.get('hangup_after_frames') || 0);
  if (hangAt && frames >= hangAt && (!params.get('record') || c.recorder)) hangup();
}

function endCall(reason) {
  if (!call) return;
  clearInterval(call.stats);
  if (call.recorder && call.recorder.state !== 'inactive') call.recorder.stop();
  if (call.pc) call.pc.close();
  if (call.local) call.local.getTracks().forEach((t) => t.stop());
  call = null;
  show('in-call', false); show('consent', false); show('banner', false); show('dial', true);
  setState('ended', 'reason=' + reason);
}

async function onEvent(ev) {
  switch (ev.ev) {
    case 'call_incoming': {
      if (call || incoming) return;
      incoming = { call_id: ev.call_id, from: ev.from };
      $('caller').textContent = ev.from;
      show('incoming', true);
      setState('incoming', 'from=' + ev.from);
      const only = params.get('from');
      if (params.get('answer') && (!only || only === ev.from)) await accept();
      break;
    }
    case 'call_ringing': setState('ringing'); break;
    case 'call_accepted':
      if (call && call.id === ev.call_id) { newPeer(call); await offer(call, false); setState('connecting'); }
      break;
    case 'call_sdp': {
      if (!call || call.id !== ev.call_id) return;
      if (ev.kind === 'offer') {
        if (!call.pc) newPeer(call);
        await call.pc.setRemoteDescription({ type: 'offer', sdp: ev.sdp });
        const a = await call.pc.createAnswer();
        await call.pc.setLocalDescription(a);
        await req({ op: 'call_sdp', call_id: call.id, kind: 'answer', sdp: call.pc.localDescription.sdp });
      } else {
        await call.pc.setRemoteDescription({ type: 'answer', sdp: ev.sdp });
      }
      call.remoteSet = true;
      for (const q of call.queued.splice(0)) await addCandidate(q);
      break;
    }
    case 'call_ice':
      if (!call || call.id !== ev.call_id) return;
      if (!call.remoteSet) call.queued.push(ev.candidate); else await addCandidate(ev.candidate);
      break;
    case 'call_ended':
      if (incoming && incoming.call_id === ev.call_id) { incoming = null; show('incoming', false); setState('ended', 'reason=' + ev.reason); }
      if (call && call.id === ev.call_id) endCall(ev.reason);
      break;
    case 'call_peer': setState(ev.connected ? 'connected' : 'peer reconnecting'); break;
    case 'call_recording':
      show('banner', ev.action === 'start');
      $('banner-text').textContent = ev.by + ' is recording this call';
      log('peer recording=' + ev.action + ' by=' + ev.by);
      break;
    case 'call_consent_request': {
      $('consent-by').textContent = ev.by;
      show('consent', true);
      log('consent request by=' + ev.by);
      const auto = params.get('consent');
      if (auto) await answerConsent(auto === 'accept');
      break;
    }
    case 'call_consent_result':
      log('consent result accepted=' + ev.accepted + ' by=' + ev.by);
      if (ev.accepted) startRecorder(); else { fail(ev.by + ' declined the recording'); $('record').textContent = 'Record'; }
      break;
    default: break;
  }
}

function hangup() {
  if (!call) return;
  req({ op: 'call_hangup', call_id: call.id }).catch(() => {});
  endCall('hangup');
}

async function addCandidate(c) {
  try {
    if (c) await call.pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdp_mid, sdpMLineIndex: c.sdp_m_line_index, usernameFragment: c.username_fragment });
    else await call.pc.addIceCandidate();
  } catch (e) { log('candidate refused: ' + e.message); }
}

async function dial(peer) {
  await fetchIceServers();
  const local = await startMedia();
  try {
    const r = await req({ op: 'call_invite', to: peer, media: ['audio', 'video'] });
    call = { id: r.call_id, peer, caller: true, local };
    show('dial', false); show('in-call', true);
    setState('calling', 'to=' + peer + ' call_id=' + r.call_id);
  } catch (e) {
    local.getTracks().forEach((t) => t.stop());
    fail('cannot call ' + peer + ': ' + (e.code || '') + ' ' + e.message);
    setState('refused', 'code=' + e.code);
  }
}

async function accept() {
  const inc = incoming;
  if (!inc) return;
  incoming = null;
  show('incoming', false);
  await fetchIceServers();
  const local = await startMedia();
  call = { id: inc.call_id, peer: inc.from, caller: false, local };
  show('dial', false); show('in-call', true);
  await req({ op: 'call_accept', call_id: inc.call_id });
  setState('connecting');
}

async function decline() {
  const inc = incoming;
  incoming = null;
  show('incoming', false);
  if (inc) await req({ op: 'call_decline', call_id: inc.call_id });
}

async function answerConsent(yes) {
  show('consent', false);
  if (call) await req({ op: 'call_consent', call_id: call.id, accept: yes });
}

async function record() {
  if (!call) return;
  if (call.recording) {
    await req({ op: 'call_record', call_id: call.id, action: 'stop' });
    if (call.recorder && call.recorder.state !== 'inactive') call.recorder.stop();
    call.recording = false;
    $('record').textContent = 'Record';
    log('recording=stop');
    return;
  }
  call.recording = true;
  const r = await req({ op: 'call_record', call_id: call.id, action: 'start' });
  if (r.may_record) startRecorder();
  else { $('record').textContent = 'Waiting for consent…'; log('recording=pending'); }
}

// Records what this page shows: the remote picture and both voices.
function startRecorder() {
  if (!call) return;
  const tracks = $('remote').srcObject ? $('remote').srcObject.getTracks() : [];
  const stream = new MediaStream(tracks.concat(call.local.getAudioTracks()));
  const chunks = [];
  try {
    call.recorder = new MediaRecorder(stream);
  } catch (e) { fail('this browser cannot record: ' + e.message); return; }
  call.recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  call.recorder.onstop = () => {
    const a = $('download');
    a.href = URL.createObjectURL(new Blob(chunks, { type: 'video/webm' }));
    a.hidden = false;
  };
  call.recorder.start(1000);
  $('record').textContent = 'Stop recording';
  log('recording=start');
}

function wire() {
  $('login-form').onsubmit = (e) => { e.preventDefault(); signIn($('user').value, $('password').value); };
  $('dial-form').onsubmit = (e) => { e.preventDefault(); dial($('callee').value.trim()).catch((x) => fail(x.message)); };
  $('accept').onclick = () => accept().catch((x) => fail(x.message));
  $('decline').onclick = () => decline().catch((x) => fail(x.message));
  $('consent-yes').onclick = () => answerConsent(true).catch((x) => fail(x.message));
  $('consent-no').onclick = () => answerConsent(false).catch((x) => fail(x.message));
  $('hangup').onclick = hangup;
  $('record').onclick = () => record().catch((x) => fail(x.message));
  $('mute').onclick = () => {
    if (!call) return;
    const t = call.local.getAudioTracks()[0];
    if (t) { t.enabled = !t.enabled; $('mute').textContent = t.enabled ? 'Mute' : 'Unmute'; }
  };
  $('camera').onclick = () => {
    if (!call) return;
    const t = call.local.getVideoTracks()[0];
    if (t) { t.enabled = !t.enabled; $('camera').textContent = t.enabled ? 'Camera off' : 'Camera on'; }
  };
}

// The media leg to the server's recorder (issue 16): a second, send-only
// connection with the call's tracks, its complete offer posted to the
// relay, which returns the recorder's answer. Tried again while it runs.
let leg = null;
async function openLeg(token, id) {
  if (!call || !call.local) return;
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: params.get('relay_only') ? 'relay' : 'all' });
  leg = { id, pc };
  for (const t of call.local.getTracks()) pc.addTransceiver(t, { direction: 'sendonly', streams: [call.local] });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((ok) => {
    if (pc.iceGatheringState === 'complete') return ok();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') ok(); };
    setTimeout(ok, 10000);
  });
  const r = await fetch('/v1/cloud/recordings/' + id + '/leg', {
    method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp,
  });
  if (!r.ok) throw new Error('the relay answered ' + r.status);
  await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
  pc.onconnectionstatechange = () => {
    log('cloud leg=' + pc.connectionState);
    if (pc.connectionState === 'failed' && leg && leg.pc === pc) { closeLeg(); setTimeout(() => startLeg(token, id), 2000); }
  };
}
function closeLeg() { if (leg) { leg.pc.close(); leg = null; } }
function startLeg(token, id) {
  openLeg(token, id).catch((e) => { log('cloud leg failed: ' + e.message); closeLeg(); });
}

// Server-side recording (issue 16): the relay's list of running recordings
// of this user's calls, polled each second; the banner says so while one runs.
function watchCloud(token) {
  let running = null;
  setInterval(async () => {
    try {
      const r = await fetch('/v1/cloud/live', { headers: { Authorization: 'Bearer ' + token } });
      if (!r.ok) return;
      const live = (await r.json()).find((x) => x.state === 'recording');
      const id = live ? live.id : null;
      if (id === running) return;
      closeLeg();
      if (id) { $('banner-text').textContent = 'Recorded by the server'; show('banner', true); log('cloud recording=start id=' + id); startLeg(token, id); }
      else { show('banner', false); log('cloud recording=stop id=' + running); }
      running = id;
    } catch (e) { /* the relay is restarting: nothing is known to have changed */ }
  }, 1000);
}

async function signIn(user, password) {
  try {
    const s = await login(user, password);
    await connect(s.token);
    watchCloud(s.token);
    show('login', false); show('dial', true);
    setState('signed_in', 'user=' + me);
    const peer = params.get('call');
    if (peer) await dial(peer);
  } catch (e) { fail(e.message); setState('signed out'); }
}

wire();
if (params.get('user') && params.get('password')) signIn(params.get('user'), params.get('password'));
