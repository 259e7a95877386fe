"""Sends one hand-made tunnel packet, for the drop tests.

usage: send-crafted.py BACKEND TARGET_IP PORT VNI DST_MAC INNER_SRC INNER_DST
BACKEND is udp, vxlan or ipip. The inner packet is a small UDP datagram from INNER_SRC to INNER_DST.
"""
import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def inner_packet(src: str, dst: str) -> bytes:
    payload = struct.pack("!HHHH", 40000, 40001, 8 + 12, 0) + b"crafted felt"
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, 17, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


backend, target, port, vni, dst_mac, inner_src, inner_dst = sys.argv[1:8]
inner = inner_packet(inner_src, inner_dst)
if backend == "ipip":
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
    sock.sendto(inner, (target, 0))
else:
    if backend == "vxlan":
        mac = bytes.fromhex(dst_mac.replace(":", ""))
        vxlan = struct.pack("!B3xI", 0x08, int(vni) << 8)
        ethernet = mac + bytes.fromhex("0e2a0000ffee") + b"\x08\x00"
        inner = vxlan + ethernet + inner
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(inner, (target, int(port)))
print("sent")
