"""Modbus slaves for the gateway's modbus tests: pymodbus (pinned in
scripts/requirements-test.txt) serving an RTU bus on one end of a
pseudo-terminal pair and a Modbus TCP server on a free port.

RTU bus, several slave ids:
  1  level transmitter   holding 2 unit code, 3 decimals, 4 level (i16)
  2  energy meter        holding 0x2000.. f32 (ABCD), 0x4000 energy f32
  3  rain gauge          input 0 tip counter (u16), 1 intensity
  4  answers every read with an exception (its registers are elsewhere)
  5  answers, but every frame is damaged in turn: bad CRC, cut short,
     garbage (trace_packet rewrites what it sends)
  9  never answers (no such slave) until `revive 9`
TCP server, unit 1: holding 0 f32 word-swapped (CDAB), 2 i32 (ABCD).

Commands on stdin, one per line:
  set BUS SLAVE FC ADDR V...   BUS is rtu or tcp; FC 3 or 4; raw registers
                               (a silent slave's too)
  revive SLAVE                 the silent slave starts answering
  kill SLAVE                   the slave stops answering
Prints "ready" once both servers listen, "ok" after each command.
"""

import argparse
import asyncio
import sys

from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusServerContext,
    ModbusSparseDataBlock,
)
from pymodbus.server import ModbusSerialServer, ModbusTcpServer


def registers(addresses):
    """A sparse block holding the given protocol addresses, all zero."""
    return ModbusSparseDataBlock({a + 1: 0 for a in addresses})


def device(hr=(), ir=()):
    return ModbusDeviceContext(hr=registers(hr), ir=registers(ir))


def rtu_devices():
    return {
        1: device(hr=range(0, 10)),
        2: device(hr=list(range(0x2000, 0x200A)) + [0x4000, 0x4001]),
        3: device(ir=range(0, 4)),
        4: device(hr=[500]),
        5: device(hr=range(0, 10)),
    }


class Damage:
    """Damages every answer of slave 5, cycling through three faults."""

    def __init__(self):
        self.n = 0

    def __call__(self, sending, packet):
        if not sending or not packet or packet[0] != 5:
            return packet
        self.n += 1
        fault = self.n % 3
        if fault == 0:
            return packet[:-1] + bytes([packet[-1] ^ 0xFF])
        if fault == 1:
            return packet[: max(2, len(packet) - 3)]
        return bytes([0x05, 0x42, 0xFF, 0x00, 0x13])


async def commands(rtu, tcp, silent):
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        words = line.split()
        if not words:
            continue
        if words[0] == "set":
            slave, fc, addr = int(words[2]), int(words[3]), int(words[4], 0)
            if words[1] == "tcp":
                target = tcp[slave]
            else:
                target = rtu[slave] if slave in rtu else silent[slave]
            target.setValues(fc, addr, [int(v, 0) for v in words[5:]])
        elif words[0] == "revive":
            rtu[int(words[1])] = silent[int(words[1])]
        elif words[0] == "kill":
            del rtu[int(words[1])]
        print("ok", flush=True)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rtu", required=True)
    parser.add_argument("--tcp-port", type=int, required=True)
    args = parser.parse_args()
    rtu = ModbusServerContext(devices=rtu_devices(), single=False)
    silent = {9: device(hr=range(0, 10))}
    tcp = ModbusServerContext(devices={1: device(hr=range(0, 4))}, single=False)
    serial = ModbusSerialServer(
        rtu, port=args.rtu, baudrate=115200, ignore_missing_devices=True, trace_packet=Damage()
    )
    network = ModbusTcpServer(tcp, address=("127.0.0.1", args.tcp_port))
    await serial.serve_forever(background=True)
    await network.serve_forever(background=True)
    print("ready", flush=True)
    await commands(rtu, tcp, silent)


if __name__ == "__main__":
    asyncio.run(main())
