#!/usr/bin/env python3
"""Galaxy's ship propagation beside REBOUND, same machine, same run.

    pip install rebound numpy
    python3 tools/rebound_check.py [path/to/galaxy-server]

Both integrate the bundled ephemeris' 11 point masses from their J2000 states
(`simulate --point-masses`: no J2, no 1PN) with test-particle ships in a 400 km
low Earth orbit, in geostationary orbit and on a transfer to the Moon. The
reference is REBOUND's IAS15 (adaptive, 15th order, machine precision); errors are
barycentric position differences at the end. Costs are wall time per ship-day
(ours: the coasting path with many copies of each ship; IAS15 with as many
test particles). REBOUND's leapfrog at dt = 1 s stands beside our fine path
(`physics.coast = false`) at the same substep, in ns per ship-step.
"""
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import rebound

ROOT = pathlib.Path(__file__).resolve().parent.parent
EPHEMERIS = json.loads((ROOT / "config" / "ephemeris-j2000.json").read_text())
BODIES = EPHEMERIS["bodies"]
NAMES = [b["name"] for b in BODIES]
EARTH, MOON = NAMES.index("Earth"), NAMES.index("Moon")
DAY = 86400.0


def vec(b, key):
    return np.array(b[key], dtype=float)


def circular(radius, inclination, phase):
    """Barycentric state of a circular orbit about Earth."""
    mu = BODIES[EARTH]["gm_m3_s2"]
    radial = np.array([math.cos(phase), math.sin(phase), 0.0])
    along = np.array([-math.sin(phase), math.cos(phase), 0.0])
    tilt = np.array([[1, 0, 0],
                     [0, math.cos(inclination), -math.sin(inclination)],
                     [0, math.sin(inclination), math.cos(inclination)]])
    speed = math.sqrt(mu / radius)
    return (vec(BODIES[EARTH], "position_m") + tilt @ radial * radius,
            vec(BODIES[EARTH], "velocity_m_s") + tilt @ along * speed)


def transfer():
    """A Hohmann-like transfer from 300 km with its apogee at the Moon's distance,
    150 degrees ahead of the Moon (the server's own test uses the same one)."""
    earth, moon = BODIES[EARTH], BODIES[MOON]
    center, center_v = vec(earth, "position_m"), vec(earth, "velocity_m_s")
    to_moon = vec(moon, "position_m") - center
    normal = np.cross(to_moon, vec(moon, "velocity_m_s") - center_v)
    normal /= np.linalg.norm(normal)
    angle = math.radians(150.0)
    unit = to_moon / np.linalg.norm(to_moon)
    apogee = (unit * math.cos(angle) + np.cross(normal, unit) * math.sin(angle)
              + normal * np.dot(normal, unit) * (1 - math.cos(angle)))
    perigee = -apogee
    mu = earth["gm_m3_s2"]
    rp, ra = 6.678e6, np.linalg.norm(to_moon)
    speed = math.sqrt(2 * mu * ra / (rp * (rp + ra)))
    return center + perigee * rp, center_v + np.cross(normal, perigee) * speed


CASES = [
    ("LEO 400 km, 51.6 deg", lambda: circular(6.778137e6, math.radians(51.6), 0.0), 1.0),
    ("GEO", lambda: circular(4.2164e7, 0.0, 0.0), 1.0),
    ("Earth-Moon transfer", transfer, 3.0),
]


def simulation(integrator, dt=None):
    sim = rebound.Simulation()
    sim.G = 1.0  # masses are GM
    for b in BODIES:
        p, v = b["position_m"], b["velocity_m_s"]
        sim.add(m=b["gm_m3_s2"], x=p[0], y=p[1], z=p[2], vx=v[0], vy=v[1], vz=v[2])
    sim.N_active = len(BODIES)
    sim.integrator = integrator
    if dt:
        sim.dt = dt
    return sim


def rebound_run(states, days, integrator, dt=None):
    sim = simulation(integrator, dt)
    for p, v in states:
        sim.add(m=0.0, x=p[0], y=p[1], z=p[2], vx=v[0], vy=v[1], vz=v[2])
    started = time.perf_counter()
    sim.integrate(days * DAY, exact_finish_time=1)
    wall = time.perf_counter() - started
    ships = sim.particles[len(BODIES):]
    return [np.array([s.x, s.y, s.z]) for s in ships], wall


def galaxy_run(server, states, days, env=None):
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "ships.json"
        path.write_text(json.dumps([
            {"position_m": list(map(float, p)), "velocity_m_s": list(map(float, v))}
            for p, v in states]))
        out = subprocess.run(
            [server, "simulate", "--point-masses", "--days", str(days),
             "--ships-file", str(path), "--json"],
            check=True, capture_output=True, text=True,
            env={**os.environ, **(env or {})})
    report = json.loads(out.stdout)
    return [np.array(s["position_m"]) for s in report["ship_states"]], report["wall_s"]


def main():
    server = sys.argv[1] if len(sys.argv) > 1 else str(
        pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        / "release" / "galaxy-server")
    copies = 1000
    print(f"REBOUND {rebound.__version__}; {copies} copies of each ship for the costs\n")
    print("| ship | days | coasting error vs IAS15 | fine 1 s error | "
          "coasting µs/ship-day | IAS15 µs/particle-day | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, make, days in CASES:
        state = make()
        (truth,), _ = rebound_run([state], days, "ias15")
        (ours,), _ = galaxy_run(server, [state], days)
        (fine,), _ = galaxy_run(server, [state], days, {"GALAXY_PHYSICS__COAST": "false"})
        _, our_wall = galaxy_run(server, [state] * copies, days)
        _, ias_wall = rebound_run([state] * 100, days, "ias15")
        ours_us = our_wall / (copies * days) * 1e6
        ias_us = ias_wall / (100 * days) * 1e6
        print(f"| {name} | {days:g} | {np.linalg.norm(ours - truth):.3f} m | "
              f"{np.linalg.norm(fine - truth):.0f} m | {ours_us:.1f} | {ias_us:.0f} | "
              f"{ours_us / ias_us:.3f} |")
    # The fine path beside REBOUND's leapfrog, per ship-step at dt = 1 s.
    state = CASES[0][1]()
    steps_day = DAY
    _, leap_wall = rebound_run([state] * 100, 1.0, "leapfrog", dt=1.0)
    _, fine_wall = galaxy_run(server, [state] * copies, 1.0, {"GALAXY_PHYSICS__COAST": "false"})
    leap_ns = leap_wall / (100 * steps_day) * 1e9
    fine_ns = fine_wall / (copies * steps_day) * 1e9
    print(f"\nfine path {fine_ns:.1f} ns per ship-substep (both cores) against REBOUND "
          f"leapfrog {leap_ns:.1f} ns per particle-step (one core): ratio {fine_ns / leap_ns:.2f}")


if __name__ == "__main__":
    main()
