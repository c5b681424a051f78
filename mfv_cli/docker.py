"""``mfv docker setup [IMAGE ...] | stop``: the private Docker engine and the images of ``docker/``."""

from __future__ import annotations

import argparse
import time

from parity.stacks import docker_engine


def add_parser(sub: argparse._SubParsersAction) -> None:
    docker = sub.add_parser("docker", help="the private Docker engine and the project's images").add_subparsers(
        dest="docker_command", required=True
    )
    setup = docker.add_parser(
        "setup",
        help="start the private engine (as root) and build the images that are missing or older than their recipe",
    )
    setup.add_argument(
        "images",
        nargs="*",
        type=image_name,
        metavar="IMAGE",
        help=f"images to build (default: all of {', '.join(docker_engine.IMAGES)})",
    )
    setup.add_argument(
        "--docker-hub",
        action="store_true",
        help="build on the Dockerfiles' Docker Hub bases instead of bases made here with debootstrap",
    )
    setup.set_defaults(handler=run_setup)
    stop = docker.add_parser("stop", help="stop the private engine")
    stop.set_defaults(handler=run_stop)


def image_name(text: str) -> str:
    """An image of ``docker_engine.IMAGES`` (argparse checks ``nargs="*"`` choices badly before Python 3.12)."""
    if text not in docker_engine.IMAGES:
        raise argparse.ArgumentTypeError(f"unknown image {text!r}: choose from {', '.join(docker_engine.IMAGES)}")
    return text


def run_setup(args: argparse.Namespace) -> int:
    client = docker_engine.start_engine()
    for name in args.images or docker_engine.IMAGES:
        started = time.monotonic()
        built = docker_engine.build_image(client, docker_engine.IMAGES[name], local_base=not args.docker_hub)
        state = f"built in {time.monotonic() - started:.0f} s" if built else "up to date"
        print(f"{docker_engine.IMAGES[name].name}: {state}")
    print(f"engine: {client.host} (export DOCKER_HOST={client.host} to use it with docker)")
    return 0


def run_stop(args: argparse.Namespace) -> int:
    print("private Docker engine stopped" if docker_engine.stop_engine() else "no private Docker engine was running")
    return 0
