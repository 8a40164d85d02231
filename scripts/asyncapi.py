# Regenerates docs/asyncapi.json (run from the repository root: python3 scripts/asyncapi.py).
# Error codes are read from packages/client/src/wire/codes.ts; test/ops/asyncapi.test.ts checks the result against the code.
import json, re
codes = open('packages/client/src/wire/codes.ts').read()
block = re.search(r'export const ErrorCode = \{(.*?)\} as const', codes, re.S).group(1)
error_codes = re.findall(r":\s*'([a-z_]+)'", block)
S = lambda **kw: kw
str_ = {"type": "string"}
any_ = {}
event_id = {"type": ["string", "null"], "description": "Decimal event id (resume position); null only on system notices"}
ref = {"oneOf": [{"type": "string", "maxLength": 128}, {"type": "number"}], "description": "Correlates the reply or error"}
def obj(props, required, desc=None):
    o = {"type": "object", "properties": props, "required": required}
    if desc: o["description"] = desc
    return o
def const(v): return {"type": "string", "const": v}
schemas = {
  "ClientCommand": obj({"type": const("command"), "command": {"type": "string", "enum": ["join_channel", "leave_channel", "refresh_token", "ping", "auth", "ack"]}, "data": any_, "ref": ref}, ["type", "command"],
     "join_channel {channel, since?, ack?}; leave_channel {channel}; refresh_token {token}; ping; auth {token} (raw TCP only, first frame); ack {id, channel?} (acknowledged subscriptions and the inbox)"),
  "ClientChannelMessage": obj({"type": const("channel_message"), "channel": str_, "message": any_, "ref": ref}, ["type", "channel", "message"]),
  "ClientText": obj({"type": const("text"), "data": str_}, ["type", "data"]),
  "ClientJson": obj({"type": const("json"), "data": any_}, ["type", "data"]),
  "WebrtcSignal": obj({"type": const("webrtc_signal"), "signal_type": {"type": "string", "enum": ["offer", "answer", "ice_candidate", "bye"]}, "target_peer_id": str_, "from_peer_id": str_, "from_user_id": str_, "sdp": str_, "candidate": any_, "ref": ref}, ["type", "signal_type", "target_peer_id"]),
  "Connected": obj({"type": const("connected"), "client_id": str_, "user_id": {"type": ["string", "null"]}, "peer_id": str_}, ["type", "client_id", "user_id"]),
  "Event": obj({"type": const("event"), "channel": {"type": "string", "description": "* for broadcasts"}, "event": {"type": "string", "description": "product.updated, file.uploaded, presence.join, presence.leave, presence.diff, chat.message, chat.typing, message, or an application's own name; system for gateway notices"}, "id": event_id, "data": any_}, ["type", "channel", "event", "id", "data"]),
  "SystemNotice": obj({"type": {"type": "string", "enum": ["connected", "recovery_failed", "token_expired"]}, "reason": str_}, ["type"], "data of an event named system"),
  "Reply": obj({"type": const("reply"), "ref": ref, "ok": {"type": "boolean", "const": True}, "data": any_}, ["type", "ref", "ok"]),
  "Error": obj({"type": const("error"), "code": {"type": "string", "enum": error_codes}, "message": str_, "ref": ref}, ["type", "code", "message"]),
  "Pong": obj({"type": const("pong")}, ["type"]),
  "TextEcho": obj({"type": const("text"), "data": str_}, ["type", "data"]),
  "JsonEcho": obj({"type": const("json"), "data": any_}, ["type", "data"]),
  "PollAnswer": obj({"events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}, "last_id": event_id}, ["events", "last_id"]),
  "Product": obj({"id": {"type": "integer"}, "name": str_, "price": {"type": "number"}, "stock": {"type": "integer", "minimum": 0}, "version": {"type": "integer", "minimum": 1}, "updated_at": {"type": "string", "format": "date-time"}, "photo_url": str_}, ["id", "name", "price", "stock", "version", "updated_at"], "data of product.updated"),
  "ProductChanged": obj({"event_id": {"type": "string", "format": "uuid"}, "product_id": {"type": "integer", "minimum": 1, "maximum": 2147483647}, "changes": obj({"price": {"type": "number", "exclusiveMinimum": 0, "maximum": 99999999.99}, "stock": {"type": "integer", "minimum": 0, "maximum": 2147483647}}, []), "occurred_at": {"type": "string", "format": "date-time"}}, ["event_id", "product_id", "changes", "occurred_at"]),
}
def msg(name, schema, title, ct="application/json"):
    return {"name": name, "title": title, "contentType": ct, "payload": {"$ref": f"#/components/schemas/{schema}"}}
messages = {
  "clientCommand": msg("command", "ClientCommand", "Command (join_channel, leave_channel, refresh_token, ping, auth, ack)"),
  "clientChannelMessage": msg("channel_message", "ClientChannelMessage", "Publish a message to a channel"),
  "clientText": msg("text", "ClientText", "Text echo request"),
  "clientJson": msg("json", "ClientJson", "JSON echo request"),
  "webrtcSignal": msg("webrtc_signal", "WebrtcSignal", "WebRTC signal to or from a peer"),
  "connected": msg("connected", "Connected", "First frame of a connection"),
  "event": msg("event", "Event", "A channel event (product.updated, chat.message, presence.join, presence.diff, …) or a system notice"),
  "reply": msg("reply", "Reply", "Answer to a frame that carried a ref"),
  "error": msg("error", "Error", "A refused frame; the connection stays unless stated"),
  "pong": msg("pong", "Pong", "Answer to ping without ref"),
  "textEcho": msg("text", "TextEcho", "Echo of a text frame"),
  "jsonEcho": msg("json", "JsonEcho", "Echo of a json frame"),
  "sseEvent": {"name": "sse event", "title": "SSE event: id, event (system, product.updated, …), data (JSON)", "contentType": "text/event-stream", "payload": {"$ref": "#/components/schemas/Event"}},
  "sseSystem": {"name": "system", "title": "SSE system event: data.type connected, recovery_failed or token_expired", "contentType": "text/event-stream", "payload": {"$ref": "#/components/schemas/SystemNotice"}},
  "pollAnswer": msg("poll answer", "PollAnswer", "Events after since, or held until one comes"),
  "productUpdated": msg("product.updated", "Product", "A product after an applied change"),
  "productChanged": msg("product.changed", "ProductChanged", "Product change event from a producer (routing key product.changed)"),
}
def chan(address, desc, names, bindings=None):
    c = {"address": address, "description": desc, "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names}}
    if bindings: c["bindings"] = bindings
    return c
ws_in = ["clientCommand", "clientChannelMessage", "clientText", "clientJson", "webrtcSignal"]
ws_out = ["connected", "event", "reply", "error", "pong", "textEcho", "jsonEcho", "webrtcSignal"]
channels = {
  "websocket": chan("/realtime/ws", "WebSocket: one JSON object per text frame, both ways (docs/protocol.md#websocket)", sorted(set(ws_in + ws_out))),
  "webrtcSignaling": chan("/realtime/webrtc/signaling", "WebSocket for WebRTC signaling between peers", ["connected", "webrtcSignal", "reply", "error"]),
  "tcp": chan("/", "Raw TCP on TCP_PORT: one JSON frame of the WebSocket protocol per line (webrtc_signal refused)", sorted(set(ws_in + ws_out) - {"webrtcSignal"})),
  "sse": chan("/realtime/events", "Server-Sent Events stream (docs/protocol.md#sse)", ["sseEvent", "sseSystem"]),
  "poll": chan("/realtime/poll", "Long polling: GET answered with the events after since (docs/protocol.md#long-polling)", ["pollAnswer"]),
  "catalogBroker": chan("product.changed", "Exchange catalog (topic, durable), routing key product.changed; refused events go to catalog.dead", ["productChanged"],
      {"amqp": {"is": "routingKey", "exchange": {"name": "catalog", "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"}, "bindingVersion": "0.3.0"}}),
  "products": chan("products", "Hub channel every product.updated is published on (and product:<id>)", ["productUpdated"]),
}
def op(action, channel, names, summary):
    return {"action": action, "channel": {"$ref": f"#/channels/{channel}"}, "summary": summary, "messages": [{"$ref": f"#/channels/{channel}/messages/{n}"} for n in names]}
operations = {
  "wsClientFrames": op("receive", "websocket", ws_in, "Frames the gateway receives from WebSocket clients"),
  "wsServerFrames": op("send", "websocket", ws_out, "Frames the gateway sends to WebSocket clients"),
  "signalingIn": op("receive", "webrtcSignaling", ["webrtcSignal"], "Signals from a peer"),
  "signalingOut": op("send", "webrtcSignaling", ["connected", "webrtcSignal", "reply", "error"], "Signals relayed to a peer"),
  "tcpClientLines": op("receive", "tcp", [n for n in ws_in if n != "webrtcSignal"], "Lines the gateway receives from TCP clients"),
  "tcpServerLines": op("send", "tcp", [n for n in ws_out if n != "webrtcSignal"], "Lines the gateway sends to TCP clients"),
  "sseStream": op("send", "sse", ["sseEvent", "sseSystem"], "Events written to SSE streams"),
  "pollAnswers": op("send", "poll", ["pollAnswer"], "Long-poll answers"),
  "consumeProductChanges": op("receive", "catalogBroker", ["productChanged"], "The gateway consumes product change events"),
  "publishProductUpdates": op("send", "products", ["productUpdated"], "Applied changes published to clients"),
}
doc = {
  "asyncapi": "3.0.0",
  "info": {"title": "hubcast realtime channels", "version": json.load(open('package.json'))["version"],
           "description": "Frames on hubcast's WebSocket, raw TCP, SSE and long-poll transports, and the broker messages it consumes. The prose specification is docs/protocol.md; scripts/asyncapi.py regenerates this file."},
  "servers": {
    "gateway": {"host": "localhost:3000", "protocol": "ws", "description": "WebSocket (wss behind TLS)"},
    "gatewayHttp": {"host": "localhost:3000", "protocol": "http", "description": "SSE and long polling"},
    "tcp": {"host": "localhost:7000", "protocol": "tcp", "description": "Raw TCP on TCP_PORT"},
    "broker": {"host": "localhost:5672", "protocol": "amqp", "description": "RabbitMQ (BROKER_URL)"},
  },
  "defaultContentType": "application/json",
  "channels": channels,
  "operations": operations,
  "components": {"schemas": schemas, "messages": messages},
}
for name, servers in {"websocket": ["gateway"], "webrtcSignaling": ["gateway"], "tcp": ["tcp"], "sse": ["gatewayHttp"], "poll": ["gatewayHttp"], "catalogBroker": ["broker"], "products": ["gateway", "gatewayHttp", "tcp"]}.items():
    channels[name]["servers"] = [{"$ref": f"#/servers/{s}"} for s in servers]
open('docs/asyncapi.json', 'w').write(json.dumps(doc, indent=2) + "\n")
