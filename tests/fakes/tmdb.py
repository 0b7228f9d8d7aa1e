"""A fake of the TMDB v3 API, answering from deterministic fixtures in the real API's shape.

    python3 tmdb.py [--port 8080] [--api-key KEY] [--fixtures fixtures.json]

Endpoints (as api.themoviedb.org/3): /3/movie/popular, /3/trending/movie/{day|week},
/3/trending/person/{day|week}, /3/movie/{id}, /3/movie/{id}/credits, /3/movie/{id}/reviews, with
``page``/``total_pages``/``total_results`` paging, the API key as ``api_key=`` or
``Authorization: Bearer``, and TMDB's error bodies (``status_code``, ``status_message``,
``success: false``): 401 for a bad key, 404 for an unknown movie, 422 for a bad page, 429 with
``Retry-After`` when a fault is queued.

Test controls (not TMDB): POST /__faults ``{"statuses": [429, 503], "retry_after": 1}`` makes the
next requests fail with those statuses in order; GET /__stats returns request counts; POST
/__reset clears both. The default fixtures include malformed records (a movie without a title,
one whose id is not a number, a person without a name) so dead-letter handling is exercised.
Standard library only: it runs in an airyard/toolbox pod from a ConfigMap.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAGE_SIZE = 20
GENRES = {
    28: "Action",
    12: "Adventure",
    16: "Animation",
    35: "Comedy",
    18: "Drama",
    27: "Horror",
    878: "Science Fiction",
}
POSITIVE = "A brilliant, moving and beautiful film. The acting is excellent and the story is wonderful."
NEGATIVE = "A boring, terrible mess. The plot is awful and the dialogue is painfully bad."
NEUTRAL = "The film runs two hours and was released in cinemas in the spring."


def build_fixtures(seed: int = 7, popular: int = 60) -> dict[str, Any]:
    """Deterministic fixtures: `popular` movies (3 pages), 20 trending movies, 20 people."""
    rng = random.Random(seed)
    movies: dict[int, dict[str, Any]] = {}
    for i in range(popular + 10):
        mid = 1000 + i
        genres = rng.sample(sorted(GENRES), k=2)
        movies[mid] = {
            "adult": False,
            "backdrop_path": f"/b{mid}.jpg",
            "genre_ids": genres,
            "id": mid,
            "original_language": rng.choice(["en", "en", "fr", "ja", "es"]),
            "original_title": f"Fixture Movie {mid}",
            "overview": f"The story of fixture movie {mid}.",
            "popularity": round(rng.uniform(5, 500), 3),
            "poster_path": f"/p{mid}.jpg",
            "release_date": f"{rng.randint(1995, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "title": f"Fixture Movie {mid}",
            "video": False,
            "vote_average": round(rng.uniform(3, 9), 1),
            "vote_count": rng.randint(10, 20000),
        }
    ids = sorted(movies)
    popular_list = [dict(movies[m]) for m in ids[:popular]]
    # Malformed records a real feed can carry: no title; an id that is not a number.
    del popular_list[25]["title"]
    popular_list[40]["id"] = "tt-not-a-number"
    trending_movies = [dict(movies[m]) for m in ids[popular - 10 : popular + 10]]
    people = [
        {
            "adult": False,
            "gender": rng.choice([1, 2]),
            "id": 5000 + i,
            "known_for_department": rng.choice(["Acting", "Directing", "Writing"]),
            "media_type": "person",
            "name": f"Fixture Person {5000 + i}",
            "original_name": f"Fixture Person {5000 + i}",
            "popularity": round(rng.uniform(1, 100), 3),
            "profile_path": f"/pp{5000 + i}.jpg",
            "known_for": [{"id": ids[i], "media_type": "movie", "title": movies[ids[i]]["title"]}],
        }
        for i in range(20)
    ]
    del people[7]["name"]
    details: dict[str, Any] = {}
    credits: dict[str, Any] = {}
    reviews: dict[str, Any] = {}
    for n, mid in enumerate(ids):
        m = movies[mid]
        details[str(mid)] = {
            **{k: v for k, v in m.items() if k != "genre_ids"},
            "budget": rng.randint(1, 200) * 1_000_000,
            "genres": [{"id": g, "name": GENRES[g]} for g in m["genre_ids"]],
            "homepage": "",
            "imdb_id": f"tt{9000000 + mid}",
            "origin_country": ["US"],
            "production_companies": [{"id": 1, "name": "Fixture Pictures", "origin_country": "US"}],
            "revenue": rng.randint(0, 900) * 1_000_000,
            "runtime": rng.randint(80, 180),
            "spoken_languages": [{"english_name": "English", "iso_639_1": "en", "name": "English"}],
            "status": "Released",
            "tagline": "",
        }
        credits[str(mid)] = {
            "id": mid,
            "cast": [
                {
                    "adult": False,
                    "cast_id": k,
                    "character": f"Role {k}",
                    "credit_id": f"c{mid}-{k}",
                    "gender": 2,
                    "id": 5000 + (n + k) % 20,
                    "known_for_department": "Acting",
                    "name": f"Fixture Person {5000 + (n + k) % 20}",
                    "order": k,
                    "popularity": 10.0,
                }
                for k in range(3)
            ],
            "crew": [
                {
                    "credit_id": f"d{mid}",
                    "department": "Directing",
                    "id": 6000 + n % 7,
                    "job": "Director",
                    "name": f"Fixture Director {6000 + n % 7}",
                    "popularity": 5.0,
                }
            ],
        }
        texts = [POSITIVE, NEGATIVE, NEUTRAL][: n % 4]
        reviews[str(mid)] = [
            {
                "author": f"critic{k}",
                "author_details": {"name": "", "username": f"critic{k}", "rating": [9.0, 2.0, 5.0][k]},
                "content": text,
                "created_at": "2025-06-01T10:00:00.000Z",
                "id": f"r{mid}{k:02d}",
                "updated_at": "2025-06-01T10:00:00.000Z",
                "url": f"https://example.invalid/review/r{mid}{k:02d}",
            }
            for k, text in enumerate(texts)
        ]
    return {
        "popular": popular_list,
        "trending_movie": trending_movies,
        "trending_person": people,
        "details": details,
        "credits": credits,
        "reviews": reviews,
    }


def _error(status_code: int, message: str) -> dict[str, Any]:
    return {"status_code": status_code, "status_message": message, "success": False}


class FakeTMDB:
    """State of the fake: fixtures, queued faults and request counts (shared by handler threads)."""

    def __init__(self, fixtures: dict[str, Any], api_key: str = "test-key") -> None:
        self.fixtures = fixtures
        self.api_key = api_key
        self.lock = threading.Lock()
        self.faults: list[int] = []
        self.retry_after = 1
        self.requests: dict[str, int] = {}

    def _page(self, items: list[Any], query: dict[str, str], extra: dict[str, Any] | None = None) -> tuple[int, Any]:
        try:
            page = int(query.get("page", "1"))
        except ValueError:
            page = 0
        total_pages = max(1, -(-len(items) // PAGE_SIZE))
        if page < 1 or page > 500:
            return 400, {
                "success": False,
                "status_code": 22,
                "status_message": "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer.",
            }
        body = {
            **(extra or {}),
            "page": page,
            "results": items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
            "total_pages": total_pages,
            "total_results": len(items),
        }
        return 200, body

    def answer(self, path: str, query: dict[str, str], auth: str | None) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON body and extra headers for a GET."""
        with self.lock:
            self.requests[path] = self.requests.get(path, 0) + 1
            fault = self.faults.pop(0) if self.faults else None
        key = query.get("api_key") or (auth[7:] if auth and auth.lower().startswith("bearer ") else None)
        if key != self.api_key:
            return 401, _error(7, "Invalid API key: You must be granted a valid key."), {}
        if fault == 429:
            return (
                429,
                _error(25, "Your request count (41) is over the allowed limit of (40)."),
                {"Retry-After": str(self.retry_after)},
            )
        if fault is not None:
            return fault, _error(11, "Internal error: Something went wrong, contact TMDB."), {}
        f = self.fixtures
        if path == "/3/movie/popular":
            return (*self._page(f["popular"], query), {})
        m = re.fullmatch(r"/3/trending/(movie|person)/(day|week)", path)
        if m:
            return (*self._page(f[f"trending_{m.group(1)}"], query), {})
        m = re.fullmatch(r"/3/movie/(\d+)(/credits|/reviews)?", path)
        if m:
            mid, sub = m.group(1), m.group(2)
            if mid not in f["details"]:
                return 404, _error(34, "The resource you requested could not be found."), {}
            if sub == "/credits":
                return 200, f["credits"][mid], {}
            if sub == "/reviews":
                return (*self._page(f["reviews"][mid], query, {"id": int(mid)}), {})
            return 200, f["details"][mid], {}
        return 404, _error(34, "The resource you requested could not be found."), {}

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/__stats":
                    with fake.lock:
                        self._json(200, {"requests": dict(fake.requests), "total": sum(fake.requests.values())})
                    return
                if url.path == "/healthz":
                    self._json(200, {"ok": True})
                    return
                query = dict(urllib.parse.parse_qsl(url.query))
                status, body, headers = fake.answer(url.path, query, self.headers.get("Authorization"))
                self._json(status, body, headers)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                with fake.lock:
                    if self.path == "/__faults":
                        fake.faults.extend(int(s) for s in body.get("statuses", []))
                        fake.retry_after = int(body.get("retry_after", fake.retry_after))
                    elif self.path == "/__reset":
                        fake.faults.clear()
                        fake.requests.clear()
                    else:
                        self._json(404, _error(34, "The resource you requested could not be found."))
                        return
                self._json(200, {"ok": True})

        return Handler


def serve(host: str = "127.0.0.1", port: int = 0, api_key: str = "test-key") -> tuple[ThreadingHTTPServer, FakeTMDB]:
    """Start the fake in a background thread (port 0: any free port); returns the server and state."""
    fake = FakeTMDB(build_fixtures(), api_key)
    server = ThreadingHTTPServer((host, port), fake.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, fake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--fixtures", help="JSON file in build_fixtures()'s shape (default: the built-in ones)")
    args = parser.parse_args()
    fixtures = build_fixtures()
    if args.fixtures:
        with open(args.fixtures, encoding="utf-8") as fh:
            fixtures = json.load(fh)
    fake = FakeTMDB(fixtures, args.api_key)
    print(f"fake TMDB on {args.host}:{args.port}", flush=True)
    ThreadingHTTPServer((args.host, args.port), fake.handler()).serve_forever()


if __name__ == "__main__":
    main()
