#!/usr/bin/env python3
"""Generate Galaxy's bundled J2000 ephemeris and the DE421 test truth states.

Rerun (from the repository root):

    pip install jplephem de421 && python3 tools/gen_ephemeris.py

Writes:
  config/ephemeris-j2000.json       initial states + physical data at J2000
  tests/fixtures/de421-truth.json   DE421 states at other epochs, for tests

Data source: the PyPI package `de421` ships JPL DE421 as Chebyshev
coefficient arrays (.npy files, not an SPK kernel) plus the DE421 header
constants (constants.npy); it is read with jplephem's `jplephem.ephem`
reader. Positions are in km and velocities in km/day, Solar System
barycentric, ICRF, TDB. As in DE421 itself, Mercury and Venus are the
planets, Mars..Pluto are system barycenters, Earth and Moon come from the
Earth-Moon barycenter plus the geocentric Moon, split by EMRAT.

GM values are the DE421 header constants in au^3/day^2 (GMS = k^2 with
Gaussian k = 0.01720209895; GM1..GM9, GMB, EMRAT), converted with the DE421
AU. Physical data (mean radius, pole, rotation rate) follow the IAU WGCCRE
2015 report (Archinal et al. 2018); colours are plausible render colours.
"""
import importlib.metadata
import json
import pathlib
import re

import de421
from jplephem.ephem import Ephemeris

ROOT = pathlib.Path(__file__).resolve().parent.parent
J2000 = 2451545.0  # JD, TDB
DAY = 86400.0  # s
TRUTH_DAYS = [365.25, 3652.5, -3652.5, 1826.25]  # days since J2000

# name, parent, de421 series, GM header key (GMB splits into Earth/Moon).
BODIES = [
    ("Sun", None, "sun", "GMS"),
    ("Mercury", "Sun", "mercury", "GM1"),
    ("Venus", "Sun", "venus", "GM2"),
    ("Earth", "Sun", None, "GMB"),
    ("Moon", "Earth", None, "GMB"),
    ("Mars", "Sun", "mars", "GM4"),
    ("Jupiter", "Sun", "jupiter", "GM5"),
    ("Saturn", "Sun", "saturn", "GM6"),
    ("Uranus", "Sun", "uranus", "GM7"),
    ("Neptune", "Sun", "neptune", "GM8"),
    ("Pluto", "Sun", "pluto", "GM9"),
]

# IAU WGCCRE 2015 (Archinal et al. 2018): mean radius (km); rotation model as
# pole RA/Dec at J2000 (deg) with their rates (deg per Julian century) and the
# prime meridian W0 (deg) with its rate W' (deg/day; its sign is the rotation
# sense about the listed pole). Periodic terms are evaluated at J2000 and kept as
# constants, except for the Moon (mean pole and mean meridian, librations
# omitted). Neptune's W0/W' are the 2009 report's (Archinal et al. 2011). The
# pole is the one on the north side of the invariable plane, so W' is negative
# for retrograde rotators (Venus, Uranus, Pluto); Pluto's IAU 2015 "positive
# pole" 132.993/-6.163 with W = 302.695 + 56.3625225 d is flipped to match,
# which turns W into 180 - W. Sun radius: IAU 2015 nominal. Then J2 with its
# reference (equatorial) radius in km from the NASA GSFC planetary fact sheets
# (nssdc.gsfc.nasa.gov/planetary/factsheet; None where none is given); for
# Mars..Neptune it acts about the system barycenter. Last: sRGB render colour in
# 0..1 (artistic choice, not measured spectra).
PHYSICAL = {
    "Sun": (695700.0, (286.13, 0.0, 63.87, 0.0, 84.176, 14.1844),
            None, [1.0, 0.95, 0.82]),
    "Mercury": (2439.4, (281.0103, -0.0328, 61.4155, -0.0049, 329.5988, 6.1385108),
                (50.3e-6, 2440.5), [0.55, 0.53, 0.50]),
    "Venus": (6051.8, (272.76, 0.0, 67.16, 0.0, 160.20, -1.4813688),
              (4.458e-6, 6051.8), [0.93, 0.85, 0.66]),
    "Earth": (6371.0084, (0.0, -0.641, 90.0, -0.557, 190.147, 360.9856235),
              (1082.63e-6, 6378.137), [0.20, 0.42, 0.80]),
    "Moon": (1737.4, (269.9949, 0.0031, 66.5392, 0.0130, 38.3213, 13.17635815),
             (202.7e-6, 1738.1), [0.66, 0.66, 0.64]),
    "Mars": (3389.5, (317.681, -0.1061, 52.887, -0.0609, 176.630, 350.891982443297),
             (1960.45e-6, 3396.2), [0.76, 0.40, 0.24]),
    "Jupiter": (69911.0, (268.057, -0.006499, 64.495, 0.002413, 284.95, 870.536),
                (14736e-6, 71492.0), [0.85, 0.75, 0.60]),
    "Saturn": (58232.0, (40.589, -0.036, 83.537, -0.004, 38.90, 810.7939024),
               (16298e-6, 60268.0), [0.90, 0.82, 0.60]),
    "Uranus": (25362.0, (257.311, 0.0, -15.175, 0.0, 203.81, -501.1600928),
               (3343.43e-6, 25559.0), [0.65, 0.85, 0.90]),
    "Neptune": (24622.0, (299.334, 0.0, 42.950, 0.0, 253.198, 536.3128492),
                (3411e-6, 24764.0), [0.30, 0.45, 0.90]),
    "Pluto": (1188.3, (312.993, 0.0, 6.163, 0.0, 237.305, -56.3625225),
              None, [0.80, 0.72, 0.62]),
}


def versions():
    v = importlib.metadata.version
    return f"jplephem {v('jplephem')} + de421 {v('de421')}"


def states(eph, days):
    """Barycentric (position m, velocity m/s) for every body at J2000+days."""
    def pv(series):
        p, v = eph.position_and_velocity(series, J2000, days)
        return p[:, 0] * 1e3, v[:, 0] * 1e3 / DAY

    emb_p, emb_v = pv("earthmoon")
    moon_p, moon_v = pv("moon")  # geocentric Moon
    f_earth = 1.0 / (1.0 + eph.EMRAT)
    f_moon = eph.EMRAT / (1.0 + eph.EMRAT)
    out = {
        "Earth": (emb_p - f_earth * moon_p, emb_v - f_earth * moon_v),
        "Moon": (emb_p + f_moon * moon_p, emb_v + f_moon * moon_v),
    }
    for name, _, series, _ in BODIES:
        if series:
            out[name] = pv(series)
    return {k: ([float(x) for x in p], [float(x) for x in v])
            for k, (p, v) in out.items()}


def gm_si(eph):
    """GM in m^3/s^2 for every body, from the DE421 header constants."""
    scale = (eph.AU * 1e3) ** 3 / DAY**2
    gm = {name: float(getattr(eph, key)) * scale for name, _, _, key in BODIES}
    gm["Earth"] = gm["Earth"] * eph.EMRAT / (1.0 + eph.EMRAT)
    gm["Moon"] = gm["Moon"] / (1.0 + eph.EMRAT)
    return gm


def write(rel, data):
    path = ROOT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2)
    # Keep short number lists (vectors, colours) on one line.
    text = re.sub(r"\[\s+([-0-9.e+,\s]+?)\s+\]",
                  lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    path.write_text(text + "\n")
    print("wrote", rel)


def main():
    eph = Ephemeris(de421)
    assert int(eph.DENUM) == 421
    gm, state = gm_si(eph), states(eph, 0.0)
    src = (f"JPL DE421 via {versions()} (Chebyshev coefficients read with "
           "jplephem.ephem); GM from the DE421 header constants shipped in "
           "the de421 package (GMS=k^2, GM1-GM9, "
           "GMB, EMRAT, au); Mars-Pluto are system barycenters with system "
           "GM (planet+moons); Earth/Moon split from EMB by EMRAT; radius and "
           "rotation models from IAU WGCCRE 2015 (Neptune's meridian 2009); "
           "J2 and which bodies are airless from the NASA GSFC planetary fact "
           "sheets")
    bodies = []
    # Bodies whose surface a lander meets in vacuum: the NASA GSFC fact sheets give
    # Mercury and the Moon no atmosphere to speak of and Pluto about 1 Pa.
    AIRLESS = {"Mercury", "Moon", "Pluto"}
    for name, parent, _, _ in BODIES:
        radius_km, rotation, oblateness, colour = PHYSICAL[name]
        ra, ra_rate, dec, dec_rate, w0, w_rate = rotation
        bodies.append({
            "name": name, "parent": parent, "gm_m3_s2": gm[name],
            "radius_m": radius_km * 1e3,
            **({"airless": True} if name in AIRLESS else {}),
            "rotation": {
                "pole_ra_deg": ra, "pole_ra_deg_per_century": ra_rate,
                "pole_dec_deg": dec, "pole_dec_deg_per_century": dec_rate,
                "meridian_deg": w0, "meridian_deg_per_day": w_rate,
            },
            "oblateness": oblateness and {
                "j2": oblateness[0], "reference_radius_m": oblateness[1] * 1e3,
            },
            "color": colour,
            "position_m": state[name][0], "velocity_m_s": state[name][1],
        })
    write("config/ephemeris-j2000.json", {
        "source": src,
        "epoch_jd_tdb": J2000,
        "frame": "ICRF, Solar System barycentric",
        "units": "SI: m, m/s, m^3/s^2, s",
        "constants": {"au_m": float(eph.AU) * 1e3, "emrat": float(eph.EMRAT),
                      "c_m_s": float(eph.CLIGHT) * 1e3},
        "bodies": bodies,
    })

    epochs = []
    for days in TRUTH_DAYS:
        st = states(eph, days)
        epochs.append({"days_since_j2000": days, "bodies": [
            {"name": n, "position_m": st[n][0], "velocity_m_s": st[n][1]}
            for n, _, _, _ in BODIES]})
    write("tests/fixtures/de421-truth.json", {
        "source": f"JPL DE421 via {versions()}; ICRF, Solar System "
                  "barycentric, TDB epochs JD 2451545.0 + days; SI m, m/s; "
                  "Mars-Pluto are system barycenters",
        "epochs": epochs,
    })


if __name__ == "__main__":
    main()
