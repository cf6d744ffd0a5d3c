/**
 * The browser phone's behaviour (issue 17): plain browser JavaScript, served as /phone/phone.js.
 * It uses JsSIP (self.JsSIP, /phone/jssip.js) over the WebSocket that /phone/config.json names.
 *
 * - Register: the AoR (a bare user gets `@<domain>`) and password; a closed overlay challenges
 *   REGISTER with digest (RFC 3261 §22) and JsSIP answers it.
 * - Call, answer, decline, hang up: audio only, WebRTC (ICE + DTLS-SRTP). No STUN or TURN server is
 *   configured (`iceServers: []`): the browsers' host candidates connect phones that can reach each
 *   other; nothing is sent to a server elsewhere.
 * - An incoming offer that is not WebRTC (plain RTP/AVP, no ICE or DTLS fingerprint: a desk phone,
 *   baresip) cannot be taken by a browser: it is declined at once with 488 and a Warning saying why,
 *   and the page says so, rather than ringing and failing after "Answer".
 * - A call the far end refuses with 488 (a plain-RTP phone cannot take a WebRTC offer) is shown
 *   with that reason.
 * - MESSAGE (RFC 3428) out and in, with the answer of each sent one.
 * Every state shown has a `data-state` (idle, busy, ok, error) and the last errors are listed.
 * `self.p2psipPhone` gives tests and curious people read access: the call's RTCPeerConnection and a
 * snapshot of what the page shows.
 */

export const PHONE_SCRIPT = String.raw`'use strict';
(function () {
  var MAX_LIST = 200;
  var $ = function (id) { return document.getElementById(id); };
  var config = null;
  var ua = null;
  var session = null;
  var callStartedAt = 0;
  var statsTimer = null;
  var lastStats = null;

  function setState(el, text, state) {
    el.textContent = text;
    el.setAttribute('data-state', state);
  }
  function append(list, text, cls) {
    var li = document.createElement('li');
    li.textContent = new Date().toLocaleTimeString() + '  ' + text;
    if (cls) li.className = cls;
    list.appendChild(li);
    while (list.children.length > MAX_LIST) list.removeChild(list.firstChild);
    list.scrollTop = list.scrollHeight;
    return li;
  }
  function log(text, isError) { append($('log'), text, isError ? 'error' : ''); }
  function aor(text) {
    var t = text.trim();
    if (t === '') return '';
    if (!/^sips?:/i.test(t)) t = 'sip:' + t;
    if (t.indexOf('@') < 0) t = t + '@' + config.domain;
    return t;
  }
  function responseText(r) {
    if (!r || typeof r.status_code !== 'number') return '';
    var w = r.getHeader ? r.getHeader('Warning') : undefined;
    return r.reason_phrase + ' (' + r.status_code + ')' + (w ? ' — ' + w : '');
  }
  function isWebRtcOffer(sdp) {
    return typeof sdp === 'string' && /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m.test(sdp) && /^a=fingerprint:/m.test(sdp) && /^a=ice-ufrag:/m.test(sdp);
  }
  var WEBRTC_HINT = 'The other phone does not take WebRTC media (ICE + DTLS-SRTP) and p2psip does not yet convert between WebRTC and plain RTP.';

  function refreshButtons() {
    var registered = ua !== null && ua.isRegistered();
    var connected = ua !== null && ua.isConnected();
    $('unregister').disabled = ua === null;
    $('dial').disabled = !registered || session !== null;
    $('hangup').disabled = session === null;
    $('msg-send').disabled = !connected;
  }

  function mediaOptions() {
    return { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] }, rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false } };
  }

  function attachMedia(pc) {
    pc.addEventListener('track', function (ev) {
      var audio = $('remote-audio');
      audio.srcObject = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
      audio.play().catch(function () {});
    });
  }

  function audioBytes() {
    var pc = session && session.connection;
    if (!pc) return Promise.resolve(null);
    return pc.getStats().then(function (report) {
      var out = { sent: 0, received: 0, packetsSent: 0, packetsReceived: 0 };
      report.forEach(function (s) {
        if (s.kind !== 'audio' && s.mediaType !== 'audio') return;
        if (s.type === 'outbound-rtp') { out.sent += s.bytesSent || 0; out.packetsSent += s.packetsSent || 0; }
        if (s.type === 'inbound-rtp') { out.received += s.bytesReceived || 0; out.packetsReceived += s.packetsReceived || 0; }
      });
      return out;
    });
  }

  function startTicker() {
    stopTicker();
    statsTimer = setInterval(function () {
      if (callStartedAt > 0) {
        var s = Math.floor((Date.now() - callStartedAt) / 1000);
        $('call-time').textContent = Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
      }
      audioBytes().then(function (b) {
        if (b === null) return;
        lastStats = b;
        $('audio-stats').textContent = 'sent ' + b.sent + ' B (' + b.packetsSent + ' packets), received ' + b.received + ' B (' + b.packetsReceived + ' packets)';
      }).catch(function () {});
    }, 1000);
  }
  function stopTicker() {
    if (statsTimer !== null) clearInterval(statsTimer);
    statsTimer = null;
  }

  function callEnded(text, state) {
    session = null;
    callStartedAt = 0;
    stopTicker();
    $('incoming').hidden = true;
    $('call-time').textContent = '';
    setState($('call-state'), text, state);
    refreshButtons();
  }

  function watchSession(s, direction, peerName) {
    session = s;
    refreshButtons();
    s.on('peerconnection', function (e) { attachMedia(e.peerconnection); });
    if (s.connection) attachMedia(s.connection);
    s.on('progress', function (e) {
      setState($('call-state'), direction === 'out' ? 'ringing ' + peerName + (e.response ? ' — ' + responseText(e.response) : '') : 'answering…', 'busy');
    });
    s.on('accepted', function () {
      $('incoming').hidden = true;
      callStartedAt = Date.now();
      setState($('call-state'), 'in call with ' + peerName, 'ok');
      startTicker();
    });
    s.on('confirmed', function () { log('call with ' + peerName + ' confirmed'); });
    s.on('ended', function (e) {
      var by = e.originator === 'local' ? 'you hung up' : e.originator === 'remote' ? peerName + ' hung up' : e.cause;
      log('call with ' + peerName + ' ended: ' + by);
      callEnded('ended: ' + by, 'idle');
    });
    s.on('failed', function (e) {
      var why = responseText(e.message) || e.cause;
      var text = 'failed: ' + why + (e.cause && why.indexOf(e.cause) < 0 ? ' [' + e.cause + ']' : '');
      if (e.cause === JsSIP.C.causes.INCOMPATIBLE_SDP || e.cause === JsSIP.C.causes.BAD_MEDIA_DESCRIPTION || (e.message && e.message.status_code === 488)) text += ' — ' + WEBRTC_HINT;
      log('call with ' + peerName + ' ' + text, e.originator !== 'local');
      callEnded(text, e.originator === 'local' && e.cause === JsSIP.C.causes.CANCELED ? 'idle' : 'error');
    });
  }

  function onNewSession(e) {
    var s = e.session;
    if (e.originator === 'local') return;
    var from = s.remote_identity.uri.toString();
    if (session !== null) {
      s.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
      log('declined a call from ' + from + ': already in a call');
      return;
    }
    if (!isWebRtcOffer(e.request.body)) {
      s.terminate({ status_code: 488, reason_phrase: 'Not Acceptable Here', extraHeaders: ['Warning: 399 p2psip-browser-phone "a browser needs a WebRTC offer (UDP/TLS/RTP/SAVPF with ICE and DTLS); this one is plain RTP"'] });
      var text = 'refused a call from ' + from + ': it offers plain RTP (no ICE, no DTLS-SRTP), which a browser cannot take; p2psip does not yet convert between plain RTP and WebRTC.';
      log(text, true);
      setState($('call-state'), text, 'error');
      return;
    }
    watchSession(s, 'in', from);
    $('incoming-from').textContent = 'Incoming call from ' + from;
    $('incoming').hidden = false;
    setState($('call-state'), 'incoming call from ' + from, 'busy');
  }

  function onNewMessage(e) {
    if (e.originator !== 'remote') return;
    var from = e.request.from.uri.toString();
    var body = e.request.body || '';
    append($('message-list'), 'from ' + from + ': ' + body, 'in').setAttribute('data-from', from);
  }

  function register(ev) {
    ev.preventDefault();
    if (config === null || config.webSockets.length === 0) return;
    if (ua !== null) ua.stop();
    var uri = aor($('user').value);
    var options = {
      sockets: [new JsSIP.WebSocketInterface(config.webSockets[0])],
      uri: uri,
      register: true,
      register_expires: 600,
      session_timers: false,
      user_agent: 'p2psip browser phone (JsSIP ' + JsSIP.version + ')',
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30
    };
    if ($('password').value !== '') options.password = $('password').value;
    if ($('display').value.trim() !== '') options.display_name = $('display').value.trim();
    try {
      ua = new JsSIP.UA(options);
    } catch (err) {
      ua = null;
      setState($('reg-state'), 'not started: ' + (err && err.message ? err.message : String(err)), 'error');
      log('configuration refused by JsSIP: ' + String(err), true);
      refreshButtons();
      return;
    }
    var me = ua;
    setState($('reg-state'), 'connecting to ' + config.webSockets[0] + '…', 'busy');
    me.on('connected', function () { if (me === ua) { setState($('reg-state'), 'registering ' + uri + '…', 'busy'); refreshButtons(); } });
    me.on('disconnected', function (e) {
      if (me !== ua) return;
      var why = e && e.error ? 'connection lost or refused' : 'connection closed';
      setState($('reg-state'), 'disconnected from ' + config.webSockets[0] + ' (' + why + '); retrying', 'error');
      log('WebSocket ' + config.webSockets[0] + ': ' + why + (e && e.code ? ' (code ' + e.code + ')' : ''), true);
      refreshButtons();
    });
    me.on('registered', function () { if (me === ua) { setState($('reg-state'), 'registered as ' + uri, 'ok'); log('registered as ' + uri); refreshButtons(); } });
    me.on('unregistered', function () { if (me === ua) { setState($('reg-state'), 'not registered', 'idle'); refreshButtons(); } });
    me.on('registrationFailed', function (e) {
      if (me !== ua) return;
      var why = responseText(e.response) || e.cause;
      var hint = e.cause === JsSIP.C.causes.AUTHENTICATION_ERROR || (e.response && e.response.status_code === 403) ? ' — check the user and password (p2psip user add on a peer)' : '';
      setState($('reg-state'), 'registration failed: ' + why + hint, 'error');
      log('registration of ' + uri + ' failed: ' + why, true);
      refreshButtons();
    });
    me.on('newRTCSession', onNewSession);
    me.on('newMessage', onNewMessage);
    me.start();
    refreshButtons();
  }

  function unregister() {
    if (ua === null) return;
    if (session !== null) session.terminate();
    ua.stop();
    ua = null;
    setState($('reg-state'), 'not registered', 'idle');
    refreshButtons();
  }

  function dial(ev) {
    ev.preventDefault();
    if (ua === null || session !== null) return;
    var target = aor($('target').value);
    setState($('call-state'), 'calling ' + target + '…', 'busy');
    try {
      var s = ua.call(target, mediaOptions());
      watchSession(s, 'out', target);
    } catch (err) {
      callEnded('failed: ' + (err && err.message ? err.message : String(err)), 'error');
      log('call to ' + target + ' not started: ' + String(err), true);
    }
  }

  function answer() {
    if (session === null) return;
    $('incoming').hidden = true;
    setState($('call-state'), 'answering…', 'busy');
    try {
      session.answer(mediaOptions());
    } catch (err) {
      log('answer failed: ' + String(err), true);
    }
  }

  function hangup() {
    if (session === null) return;
    try {
      session.terminate();
    } catch (err) {
      log('hang-up: ' + String(err), true);
      callEnded('ended', 'idle');
    }
  }

  function decline() {
    if (session === null) return;
    session.terminate({ status_code: 603, reason_phrase: 'Decline' });
  }

  function sendMessage(ev) {
    ev.preventDefault();
    if (ua === null) return;
    var to = aor($('msg-to').value);
    var text = $('msg-text').value;
    if (text === '') return;
    var li = append($('message-list'), 'to ' + to + ': ' + text + ' — sending', 'out');
    li.setAttribute('data-state', 'busy');
    ua.sendMessage(to, text, {
      contentType: 'text/plain',
      eventHandlers: {
        succeeded: function (e) { li.textContent = li.textContent.replace(/ — sending$/, ' — delivered (' + (e.response ? e.response.status_code : 200) + ')'); li.setAttribute('data-state', 'ok'); },
        failed: function (e) {
          var why = responseText(e.response) || e.cause;
          li.textContent = li.textContent.replace(/ — sending$/, ' — not delivered: ' + why);
          li.setAttribute('data-state', 'error');
          log('message to ' + to + ' not delivered: ' + why, true);
        }
      }
    });
    $('msg-text').value = '';
  }

  function start(c) {
    config = c;
    $('ws-url').textContent = c.webSockets.length > 0 ? 'WebSocket: ' + c.webSockets[0] + ', domain ' + c.domain : '';
    if (c.auth === 'closed') $('auth-hint').textContent = 'This overlay is closed: register with the password set by p2psip user add (digest authentication).';
    else if (c.auth === 'open') $('auth-hint').textContent = 'This overlay is open: no password is needed.';
    if (c.problem) {
      $('problem').textContent = c.problem;
      $('problem').hidden = false;
      $('register').disabled = true;
      setState($('reg-state'), 'cannot register: no SIP WebSocket listener', 'error');
      return;
    }
    if (!window.isSecureContext || !navigator.mediaDevices) {
      $('problem').textContent = 'This page is not a secure context, so the browser gives it no microphone: open it at http://localhost:<port>/phone or http://127.0.0.1:<port>/phone, or through HTTPS.';
      $('problem').hidden = false;
    }
    $('register-form').addEventListener('submit', register);
    $('unregister').addEventListener('click', unregister);
    $('call-form').addEventListener('submit', dial);
    $('hangup').addEventListener('click', hangup);
    $('answer').addEventListener('click', answer);
    $('decline').addEventListener('click', decline);
    $('message-form').addEventListener('submit', sendMessage);
    window.addEventListener('beforeunload', function () { if (ua !== null) ua.stop(); });
    refreshButtons();
  }

  self.p2psipPhone = {
    peerConnection: function () { return session && session.connection ? session.connection : null; },
    audioBytes: audioBytes,
    lastStats: function () { return lastStats; },
    snapshot: function () {
      return {
        registration: $('reg-state').getAttribute('data-state') + ': ' + $('reg-state').textContent,
        call: $('call-state').getAttribute('data-state') + ': ' + $('call-state').textContent,
        inCall: session !== null,
        messages: Array.prototype.map.call($('message-list').children, function (li) { return li.textContent; })
      };
    }
  };

  function fail(text) {
    $('problem').textContent = text;
    $('problem').hidden = false;
    $('register').disabled = true;
  }
  if (typeof JsSIP === 'undefined') {
    fail('JsSIP did not load (/phone/jssip.js): the phone cannot work. The peer logs why.');
    return;
  }
  fetch('/phone/config.json', { cache: 'no-store' })
    .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
    .then(start)
    .catch(function (err) { fail('Cannot read this peer\'s phone settings (/phone/config.json): ' + String(err)); });
})();
`;
