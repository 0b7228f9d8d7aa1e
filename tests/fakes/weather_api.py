"""Fake OpenWeatherMap current-weather API (GET /data/2.5/weather), stdlib only.

Same request parameters (q=City,CC or lat&lon, appid, units) and the same JSON shapes, including
the 401 for a wrong key and the 404 for an unknown city. `python3 weather_api.py PORT APPID`;
tests import it and serve it on loopback, the e2e tests run it in a toolbox pod.
"""

from __future__ import annotations

import json
import sys
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CITIES: dict[str, tuple[int, float, float]] = {  # "city,cc" (lower case) -> (id, lat, lon)
    "london,gb": (2643743, 51.5085, -0.1257),
    "paris,fr": (2988507, 48.8534, 2.3488),
    "berlin,de": (2950159, 52.5244, 13.4105),
    "tokyo,jp": (1850147, 35.6895, 139.6917),
}
EPOCH = 1759658400  # 2025-10-05 10:00 UTC: responses are deterministic


def current_weather(key: str, units: str) -> dict[str, object]:
    city_id, lat, lon = CITIES[key]
    seed = zlib.crc32(key.encode())
    kelvin = 280.0 + seed % 150 / 10
    temp = {"metric": kelvin - 273.15, "imperial": (kelvin - 273.15) * 9 / 5 + 32}.get(units, kelvin)
    name, country = key.split(",")
    return {
        "coord": {"lon": lon, "lat": lat},
        "weather": [{"id": 803, "main": "Clouds", "description": "broken clouds", "icon": "04d"}],
        "base": "stations",
        "main": {
            "temp": round(temp, 2),
            "feels_like": round(temp - 1.2, 2),
            "temp_min": round(temp - 1.0, 2),
            "temp_max": round(temp + 1.0, 2),
            "pressure": 1000 + seed % 30,
            "humidity": 40 + seed % 50,
        },
        "visibility": 10000,
        "wind": {"speed": round(seed % 100 / 10, 1), "deg": seed % 360},
        "clouds": {"all": 75},
        "dt": EPOCH,
        "sys": {
            "type": 2,
            "id": 2075535,
            "country": country.upper(),
            "sunrise": EPOCH - 14000,
            "sunset": EPOCH + 28000,
        },
        "timezone": 0,
        "id": city_id,
        "name": name.title(),
        "cod": 200,
    }


class Handler(BaseHTTPRequestHandler):
    appid = "test-key"

    def _send(self, status: int, doc: dict[str, object]) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/data/2.5/weather":
            return self._send(404, {"cod": "404", "message": "Internal error"})
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if q.get("appid") != self.appid:
            return self._send(
                401,
                {
                    "cod": 401,
                    "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.",
                },
            )
        key = q.get("q", "").lower().replace(" ", "")
        if not key and "lat" in q and "lon" in q:
            key = next(
                (
                    k
                    for k, (_, la, lo) in CITIES.items()
                    if abs(la - float(q["lat"])) < 0.1 and abs(lo - float(q["lon"])) < 0.1
                ),
                "",
            )
        if key not in CITIES:
            return self._send(404, {"cod": "404", "message": "city not found"})
        return self._send(200, current_weather(key, q.get("units", "standard")))

    def log_message(self, fmt: str, *args: object) -> None:
        sys.stderr.write("weather-api: " + fmt % args + "\n")


def server(port: int = 0, appid: str = "test-key", host: str = "127.0.0.1") -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"appid": appid})
    return ThreadingHTTPServer((host, port), handler)


if __name__ == "__main__":
    srv = server(
        int(sys.argv[1]) if len(sys.argv) > 1 else 8081, sys.argv[2] if len(sys.argv) > 2 else "test-key", "0.0.0.0"
    )
    print(f"weather-api on :{srv.server_address[1]}", flush=True)
    srv.serve_forever()
