"""OCPP 1.6J charge points for the gateway's tests, built on the Python
`ocpp` package (which validates every .conf it receives against the OCPP
1.6 JSON schemas) and `websockets`.

    ocpp_charge_point.py URL CP_ID PASSWORD SCENARIO [OPTIONS]

Scenarios: full (boot, statuses, a session with MeterValues, a fault and its
recovery, DataTransfer), session (a session that survives connection loss:
it reconnects and resends what was not confirmed; --drop-after N closes the
connection itself after N meter values), malformed (bad frames on a raw
socket), refused (an unknown id whose boot is Rejected, a wrong and a
missing password). Every outcome is one JSON
line on stdout; a failure exits non-zero.
"""

import argparse
import asyncio
import base64
import json
import sys
import time
from dataclasses import asdict
from datetime import datetime, timedelta, timezone

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import ChargePoint, call

BASE = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)


def out(**fields):
    print(json.dumps(fields), flush=True)


def iso(t):
    return t.isoformat().replace("+00:00", "Z")


def headers(cp_id, password):
    token = base64.b64encode(f"{cp_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def connect(url, cp_id, password, deadline_s=60.0):
    """Connects, retrying while the gateway is down."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return await websockets.connect(
                f"{url}/{cp_id}",
                subprotocols=["ocpp1.6"],
                additional_headers=headers(cp_id, password),
                open_timeout=5,
            )
        except (OSError, asyncio.TimeoutError, websockets.exceptions.InvalidStatus):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


class Peer:
    def __init__(self, args):
        self.args = args
        self.ws = None
        self.cp = None
        self.task = None

    async def open(self):
        self.ws = await connect(self.args.url, self.args.cp_id, self.args.password)
        self.cp = ChargePoint(self.args.cp_id, self.ws, response_timeout=5)
        self.task = asyncio.create_task(self.cp.start())

    async def close(self):
        if self.task:
            self.task.cancel()
        if self.ws:
            await self.ws.close()

    async def call(self, payload):
        result = await self.cp.call(payload, suppress=False)
        out(action=type(payload).__name__, conf=asdict(result))
        return result


def meter_value(t, energy_wh, power_w, context="Sample.Periodic", soc=None):
    sampled = [
        {"value": f"{energy_wh / 1000:.3f}", "measurand": "Energy.Active.Import.Register", "unit": "kWh", "context": context},
        {"value": f"{power_w / 1000:.3f}", "measurand": "Power.Active.Import", "unit": "kW", "context": context},
        {"value": "400.0", "measurand": "Voltage", "unit": "V", "phase": "L1-L2", "context": context},
    ]
    sampled += [
        {"value": "16.0", "measurand": "Current.Import", "unit": "A", "phase": p, "context": context}
        for p in ("L1", "L2", "L3")
    ]
    if soc is not None:
        sampled.append({"value": str(soc), "measurand": "SoC", "unit": "Percent", "location": "EV", "context": context})
    return {"timestamp": iso(t), "sampledValue": sampled}


STATUS_CLOCK = [BASE - timedelta(hours=1)]


def status(connector, state, error="NoError", **extra):
    """A StatusNotification stamped one second after the previous one (in
    the past, so the store's query latency does not hide it)."""
    STATUS_CLOCK[0] += timedelta(seconds=1)
    return call.StatusNotification(
        connector_id=connector, error_code=error, status=state, timestamp=iso(STATUS_CLOCK[0]), **extra
    )


async def full(args):
    peer = Peer(args)
    await peer.open()
    boot = await peer.call(call.BootNotification(charge_point_model="KF-AC7", charge_point_vendor="Kangfu"))
    assert boot.status == "Accepted", boot
    for c in (0, 1, 2):
        await peer.call(status(c, "Available"))
    assert (await peer.call(call.Authorize(id_tag="BADTAG"))).id_tag_info["status"] == "Invalid"
    assert (await peer.call(call.Authorize(id_tag=args.id_tag))).id_tag_info["status"] == "Accepted"
    await peer.call(status(1, "Preparing"))
    start = BASE
    started = await peer.call(call.StartTransaction(connector_id=1, id_tag=args.id_tag, meter_start=1000, timestamp=iso(start)))
    tx = started.transaction_id
    out(transaction_id=tx)
    await peer.call(status(1, "Charging"))
    for i in range(1, 4):
        t = start + timedelta(minutes=10 * i)
        mv = meter_value(t, 1000 + 1200 * i, 7200, soc=20 + 10 * i)
        await peer.call(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[mv]))
    stop_t = start + timedelta(minutes=40)
    end = meter_value(stop_t, 5800, 0, context="Transaction.End")
    await peer.call(call.StopTransaction(meter_stop=5800, timestamp=iso(stop_t), transaction_id=tx, reason="EVDisconnected", id_tag=args.id_tag, transaction_data=[end]))
    await peer.call(status(1, "Finishing"))
    await peer.call(status(1, "Available"))
    await peer.call(status(2, "Faulted", error="GroundFailure", vendor_error_code="E-17", info="RCD tripped"))
    await peer.call(status(2, "Available"))
    await peer.call(call.DataTransfer(vendor_id="Kangfu", message_id="diag", data="fan=ok"))
    await peer.call(call.Heartbeat())
    await peer.close()


async def session(args):
    """A session whose MeterValues each wait for their .conf; on a lost
    connection it reconnects (without a new BootNotification, as chargers
    do) and sends the unconfirmed message again."""
    peer = Peer(args)
    steps = ["start"] + [f"meter{i}" for i in range(1, args.meters + 1)] + ["stop"]
    done, tx, booted, dropped = 0, None, False, False
    while done < len(steps):
        try:
            await peer.open()
            if not booted:
                await peer.call(call.BootNotification(charge_point_model="KF-DC60", charge_point_vendor="Kangfu"))
                booted = True
            while done < len(steps):
                step = steps[done]
                if step == "start":
                    r = await peer.call(call.StartTransaction(connector_id=1, id_tag=args.id_tag, meter_start=args.meter_start, timestamp=iso(BASE)))
                    tx = r.transaction_id
                    out(transaction_id=tx)
                elif step == "stop":
                    stop_wh = args.meter_start + 100 * args.meters
                    t = BASE + timedelta(seconds=args.meters + 1)
                    await peer.call(call.StopTransaction(meter_stop=stop_wh, timestamp=iso(t), transaction_id=tx, reason="Local"))
                else:
                    i = int(step[5:])
                    energy = args.meter_start + 100 * i
                    mv = meter_value(BASE + timedelta(seconds=i), energy, 11000)
                    await peer.call(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[mv]))
                    out(confirmed_energy_wh=energy, transaction_id=tx)
                done += 1
                if args.drop_after and done == args.drop_after + 1 and not dropped:
                    dropped = True
                    out(event="dropping the connection")
                    await peer.close()
                    break
                await asyncio.sleep(args.interval)
        except (websockets.exceptions.ConnectionClosed, asyncio.TimeoutError, OSError) as e:
            out(event="connection lost", error=type(e).__name__)
            await peer.close()
    out(event="session done", transaction_id=tx)


async def malformed(args):
    async with await connect(args.url, args.cp_id, args.password) as ws:
        frames = [
            "this is not json",
            "{}",
            '[2,"m1","Teleport",{}]',
            '[2,"m2","StatusNotification",{"connectorId":1}]',
            '[2,"m3","StatusNotification",{"connectorId":"x","errorCode":"NoError","status":"Available"}]',
            '[2,"m4","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Sleeping"}]',
            '[2,"m5","StartTransaction",{"connectorId":9,"idTag":"T","meterStart":0,"timestamp":"2026-12-01T08:00:00Z"}]',
            '[7,"m6",{}]',
        ]
        for frame in frames:
            await ws.send(frame)
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            out(sent=frame, reply=reply)
        await ws.send('[3,"no-such-call",{}]')
        await ws.send('[2,"ok","Heartbeat",{}]')
        out(sent="heartbeat", reply=json.loads(await asyncio.wait_for(ws.recv(), 10)))


async def unknown(args):
    """A charge point the gateway does not know: its Heartbeat gets a
    CallError, its BootNotification Rejected (as the library parses and
    validates it), then the gateway closes the connection."""
    cp_id = args.cp_id + "-UNKNOWN"
    ws = await websockets.connect(f"{args.url}/{cp_id}", subprotocols=["ocpp1.6"], open_timeout=5)
    cp = ChargePoint(cp_id, ws, response_timeout=5)
    task = asyncio.create_task(cp.start())
    try:
        await cp.call(call.Heartbeat(), suppress=False)
        out(cp_id=cp_id, action="Heartbeat", call_error=None)
    except OCPPError as e:
        out(cp_id=cp_id, action="Heartbeat", call_error=e.code)
    boot = await cp.call(call.BootNotification(charge_point_model="KF-AC7", charge_point_vendor="Stranger"), suppress=False)
    out(cp_id=cp_id, action="BootNotification", conf=asdict(boot))
    await asyncio.wait_for(ws.wait_closed(), 15)
    out(cp_id=cp_id, closed=True, close_code=ws.close_code)
    task.cancel()


async def refused(args):
    await unknown(args)
    for cp_id, password in ((args.cp_id, "wrong-password"), (args.cp_id, None)):
        try:
            extra = headers(cp_id, password) if password else {}
            ws = await websockets.connect(f"{args.url}/{cp_id}", subprotocols=["ocpp1.6"], additional_headers=extra, open_timeout=5)
            await ws.close()
            out(cp_id=cp_id, refused=False)
        except websockets.exceptions.InvalidStatus as e:
            out(cp_id=cp_id, refused=True, status=e.response.status_code)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("cp_id")
    p.add_argument("password")
    p.add_argument("scenario", choices=["full", "session", "malformed", "refused"])
    p.add_argument("--id-tag", default="TAG-OK")
    p.add_argument("--meters", type=int, default=10)
    p.add_argument("--meter-start", type=int, default=20000)
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--drop-after", type=int, default=0)
    args = p.parse_args()
    scenario = {"full": full, "session": session, "malformed": malformed, "refused": refused}[args.scenario]
    asyncio.run(scenario(args))


if __name__ == "__main__":
    sys.exit(main())
