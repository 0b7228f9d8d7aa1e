"""Add the connector jars (images/spark/pom.xml) to Spark's jars/, skipping artifacts Spark ships.

Spark's own version of a shared dependency (netty, slf4j, scala, hadoop-client-*) must stay the
only one on the classpath. A jar is the same artifact when groupId and artifactId match, read from
the Maven metadata inside Spark's jar (artifactIds alone collide: AWS's and JetBrains' `annotations`).
"""

from __future__ import annotations

import re
import shutil
import sys
import zipfile
from pathlib import Path


def shipped(jars: Path) -> set[tuple[str | None, str]]:
    found: set[tuple[str | None, str]] = set()
    for jar in jars.glob("*.jar"):
        artifact = re.sub(r"-[0-9][^-]*(-[A-Za-z0-9.]+)?\.jar$", "", jar.name)
        with zipfile.ZipFile(jar) as z:
            groups = {
                n.split("/")[2]
                for n in z.namelist()
                if re.fullmatch(rf"META-INF/maven/[^/]+/{re.escape(artifact)}/pom\.properties", n)
            }
        found |= {(g, artifact) for g in groups} or {(None, artifact)}
    return found


def main(source: Path, jars: Path) -> None:
    have = shipped(jars)
    for line in (source / "artifacts.txt").read_text().splitlines():
        m = re.match(r"\s*([^:\s]+):([^:]+):jar:([^:]+):", line)
        if not m:
            continue
        group, artifact, version = m.groups()
        if (group, artifact) in have or (None, artifact) in have:
            print(f"Spark ships {group}:{artifact}")
            continue
        shutil.copy(source / f"{artifact}-{version}.jar", jars)
        print(f"added {group}:{artifact}:{version}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
