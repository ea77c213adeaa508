"""Writes seed inputs for the fuzz targets whose honest inputs are hard to find from
nothing: renet packets as the real client sends them (small messages on both
channels, acks, and an honest two-slice message the fuzzer can bend into a hostile
pair) and netcode payload packets. Usage: python3 fuzz/seeds.py OUT_DIR"""

import pathlib
import sys


def varint(value):
    if value < 0x40:
        return bytes([value])
    if value < 0x4000:
        return (value | 0x4000).to_bytes(2, "big")
    if value < 0x4000_0000:
        return (value | 0x8000_0000).to_bytes(4, "big")
    return (value | 0xC000_0000_0000_0000).to_bytes(8, "big")


def small(reliable, sequence, channel, messages, first_id=0):
    packet = bytes([0 if reliable else 1]) + varint(sequence) + bytes([channel])
    packet += len(messages).to_bytes(2, "big")
    for i, message in enumerate(messages):
        if reliable:
            packet += varint(first_id + i)
        packet += varint(len(message)) + message
    return packet


def slice_packet(sequence, channel, message_id, index, count, payload):
    return (bytes([2]) + varint(sequence) + bytes([channel]) + varint(message_id)
            + varint(index) + varint(count) + varint(len(payload)) + payload)


def packets(socket, *items):
    """The renet_payload input: a socket byte, then each packet with a u16 length."""
    return bytes([socket]) + b"".join(len(p).to_bytes(2, "big") + p for p in items)


def main(out):
    seeds = {
        "renet_payload": {
            "udp_small": packets(0, small(True, 1, 0, [b"\x02\x00\x07"]),
                                 small(False, 2, 1, [b"\x01" * 40]), bytes([4]) + varint(3)),
            "udp_slices": packets(0, slice_packet(1, 0, 0, 0, 3, b"\xa5" * 1200),
                                  slice_packet(2, 0, 0, 1, 3, b"\xa5" * 1200)),
            "ws_small": packets(1, small(False, 1, 0, [b"\x03ab"]), small(False, 2, 1, [b"\x04"])),
        },
        "netcode_packet": {
            "payload_1": bytes([0x14, 0x01]) + b"\x00" * 40,
            "keep_alive_2": bytes([0x23, 0x01, 0x00]) + b"\x00" * 24,
            "disconnect_3": bytes([0x36, 0x01, 0x00, 0x00]) + b"\x00" * 16,
        },
    }
    for target, files in seeds.items():
        folder = pathlib.Path(out) / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)


if __name__ == "__main__":
    main(sys.argv[1])
