"""The fake server's media host: valid files, sizes, ranges, a second origin, cuts."""

from __future__ import annotations

import json
import struct
import time
import zlib

import aiohttp
import pytest

from helpers import AUTH, KEY, call, done_song, post, row
from suno_async.testing import FakeSunoServer, Fault, TaskPlan

pytestmark = pytest.mark.anyio


async def what_arrives(response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    """The body bytes that arrived, and whether the connection was cut before the end."""
    received = b""
    try:
        async for piece in response.content.iter_any():
            received += piece
    except aiohttp.ClientPayloadError:
        return received, True
    return received, False


async def song_urls(client: aiohttp.ClientSession, server: FakeSunoServer) -> dict[str, str]:
    """The audio, video and cover URLs of a song that is done."""
    task_id, _ = await done_song(client, server)
    info = (await row(client, server, task_id))["fileInfo"]
    return {"mp3": info["mp3Url"], "mp4": info["mp4Url"], "png": info["coverUrl"]}


async def test_media_files_are_valid(server: FakeSunoServer, client: aiohttp.ClientSession) -> None:
    """Every media URL serves a small valid file of the right type without auth."""
    task_id, clip_id = await done_song(client, server)
    server.plans.append(TaskPlan())
    wav_task = (
        await post(client, server, "/music/convert-wav", {"task_id": task_id, "suno_id": clip_id})
    )["data"]
    info = (await row(client, server, task_id))["fileInfo"]
    wav_url = json.loads((await row(client, server, wav_task))["extend"])["wav_file_url"]
    urls = {"mp3": info["mp3Url"], "mp4": info["mp4Url"], "png": info["coverUrl"], "wav": wav_url}
    bodies: dict[str, bytes] = {}
    async with aiohttp.ClientSession() as anonymous:
        for kind, url in urls.items():
            async with anonymous.get(url) as response:
                assert response.status == 200
                bodies[kind] = await response.read()
                assert response.content_type.split("/")[1] in {"mpeg", "mp4", "png", "wav"}
        async with anonymous.get(f"{server.origin}/media/{task_id}.exe") as response:
            assert response.status == 404
    mp3 = bodies["mp3"]
    assert mp3[0] == 0xFF
    assert mp3[1] & 0xE0 == 0xE0
    assert mp3[417:419] == mp3[:2]
    assert bodies["mp4"][4:8] == b"ftyp"
    assert b"moov" in bodies["mp4"]
    png = bodies["png"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", png[16:24]) == (1, 1)
    idat = png.index(b"IDAT")
    (length,) = struct.unpack(">I", png[idat - 4 : idat])
    assert len(zlib.decompress(png[idat + 4 : idat + 4 + length])) == 4
    wav = bodies["wav"]
    assert wav[:4] == b"RIFF"
    assert wav[8:12] == b"WAVE"
    assert struct.unpack("<I", wav[4:8])[0] == len(wav) - 8
    assert server.requests["GET /media"] == 5


async def test_sized_media_honours_ranges(client: aiohttp.ClientSession) -> None:
    """A sized file has its length, one range answers 206, a bad one 416, HEAD no body."""
    async with FakeSunoServer(
        dialect="reference", api_key=KEY, speed=0.0, media_bytes=200_000
    ) as server:
        url = (await song_urls(client, server))["mp3"]
        expected = server.media_file(url).content()
        assert len(expected) == 200_000
        assert expected[:4] == bytes([0xFF, 0xFB, 0x90, 0xC0])
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(url) as response:
                assert response.status == 200
                assert response.headers["Content-Length"] == "200000"
                assert response.headers["Accept-Ranges"] == "bytes"
                etag = response.headers["ETag"]
                assert await response.read() == expected
            for asked, start, end in (
                ("bytes=1000-1999", 1000, 2000),
                ("bytes=199990-", 199990, 200000),
                ("bytes=-70000", 130000, 200000),
                ("bytes=150000-999999", 150000, 200000),
            ):
                async with anonymous.get(url, headers={"Range": asked}) as response:
                    assert response.status == 206, asked
                    assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/200000"
                    assert await response.read() == expected[start:end]
            ranged = {"Range": "bytes=10-19", "If-Range": etag}
            async with anonymous.get(url, headers=ranged) as response:
                assert response.status == 206
            ranged["If-Range"] = '"changed"'
            async with anonymous.get(url, headers=ranged) as response:
                assert response.status == 200
                assert len(await response.read()) == 200_000
            async with anonymous.get(url, headers={"Range": "bytes=200000-"}) as response:
                assert response.status == 416
                assert response.headers["Content-Range"] == "bytes */200000"
            async with anonymous.head(url) as response:
                assert response.headers["Content-Length"] == "200000"
                assert await response.read() == b""


async def test_media_sizes_from_a_range_differ_per_file(client: aiohttp.ClientSession) -> None:
    """With a range of sizes each file has its own, fixed size and bytes; covers stay tiny."""
    async with FakeSunoServer(
        dialect="reference", api_key=KEY, speed=0.0, media_bytes=(1_000, 5_000)
    ) as server:
        urls = await song_urls(client, server)
        async with aiohttp.ClientSession() as anonymous:
            bodies = {}
            for kind, url in urls.items():
                async with anonymous.get(url) as response:
                    bodies[kind] = await response.read()
    assert 1_000 <= len(bodies["mp3"]) <= 5_000
    assert 1_000 <= len(bodies["mp4"]) <= 5_000
    assert bodies["mp3"] == server.media_file(urls["mp3"]).content()
    assert bodies["mp4"][4:8] == b"ftyp"
    assert bodies["png"].startswith(b"\x89PNG")
    assert len(bodies["png"]) < 200
    other = server.media_file(urls["mp3"].replace(".mp3", "9.mp3")).content()
    assert other[3336:3400] != bodies["mp3"][3336:3400]
    with pytest.raises(ValueError, match="media_bytes"):
        FakeSunoServer(dialect="reference", media_bytes=(5, 1))


async def test_media_on_its_own_origin_records_the_headers_it_saw(
    client: aiohttp.ClientSession,
) -> None:
    """Media served from a second port; its log shows which requests carried a key."""
    async with FakeSunoServer(
        dialect="reference", api_key=KEY, speed=0.0, separate_media_origin=True
    ) as server:
        url = (await song_urls(client, server))["mp3"]
        assert server.media_origin != server.origin
        assert url.startswith(server.media_origin + "/media/")
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(url) as response:
                assert response.status == 200
            async with anonymous.get(server.media_origin + "/api/v1/points/balance") as response:
                assert response.status == 404
        async with client.get(url) as response:
            assert response.status == 200
        status, _ = await call(client, "GET", server.url + "/points/balance")
        assert status == 200
    seen = [("Authorization" in r.headers, r.path) for r in server.media_requests]
    path = url.removeprefix(server.media_origin)
    assert seen == [(False, path), (True, path)]


async def test_media_faults_cut_and_are_named_only(
    server: FakeSunoServer, client: aiohttp.ClientSession
) -> None:
    """A media fault cuts the body half way; API faults without a media endpoint pass it by."""
    url = (await song_urls(client, server))["mp3"]
    whole = server.media_file(url).content()
    server.faults += [Fault("500", times=5), Fault("truncated", endpoint="GET /media")]
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(url) as response:
            assert response.headers["Content-Length"] == str(len(whole))
            received, cut = await what_arrives(response)
        assert cut
        assert received == whole[: len(whole) // 2]
        async with anonymous.get(url) as response:
            assert await response.read() == whole
        server.faults.append(Fault("slow_body", endpoint="/media", delay=0.1))
        started = time.monotonic()
        async with anonymous.get(url) as response:
            assert await response.read() == whole
        assert time.monotonic() - started >= 0.09
    assert server.faults_injected == {"truncated": 1, "slow_body": 1}
    assert server.faults[0].times == 5


async def test_https_with_a_test_ca() -> None:
    """With an SSL context the API and the media are served over HTTPS."""
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    connector = aiohttp.TCPConnector(ssl=client_context)
    async with (
        FakeSunoServer(
            dialect="reference", api_key=KEY, speed=0.0, ssl_context=server_context
        ) as server,
        aiohttp.ClientSession(headers=AUTH, connector=connector) as client,
    ):
        assert server.url.startswith("https://127.0.0.1:")
        urls = await song_urls(client, server)
        assert urls["mp3"].startswith("https://")
        async with client.get(urls["mp3"]) as response:
            assert await response.read() == server.media_file(urls["mp3"]).content()
