"""Coste de BN en tiempo de reloj: paso de entrenamiento e inferencia, con y sin BN (``make bench``).

Es la medición que cita el capítulo ``book/06_desventajas.ipynb`` (sección «Coste
computacional»). El cuaderno no comprueba tiempos con ``assert`` (DESIGN §4: un cociente de
tiempos depende de la máquina, de su carga y de sus núcleos de cálculo); aquí se miden aparte:

- **Entrenamiento**: un paso completo (propagación, retropropagación y paso de Adam) de
  ``RecipeCNN("batch")`` frente a ``RecipeCNN("none")`` con minilotes de 64 imágenes.
- **Inferencia**: 256 imágenes en modo de inferencia y sin gradientes con la red con BN, con su
  copia plegada (``bncourse.torch.folding.fold_model``) y con la red sin BN.
- **Formato y compilación**: el paso de entrenamiento y la inferencia de la red con BN con los
  tensores en formato *channels-last* (``torch.channels_last``), y la inferencia de la red con
  BN compilada con ``torch.compile`` (si el compilador no está disponible, lo dice y sigue).

Como en el capítulo, PyTorch usa un solo hilo (``BNCOURSE_BENCH_THREADS=N`` lo cambia), y se
mide el tiempo de CPU del proceso (``time.process_time``), que con un hilo coincide con el de
reloj en una máquina libre y depende mucho menos de la carga de una máquina compartida. Las
funciones se alternan en cada repetición, para que todas sufran por igual esa carga, y de cada
una se toma el mejor tiempo. Las imágenes son aleatorias: el coste de estas
capas no depende de los valores.

Uso::

    python tools/benchmarks/bench_bn_cost.py            # la medición (unos 30 s)
    python tools/benchmarks/bench_bn_cost.py --quick    # comprobación rápida
"""

from __future__ import annotations

import os
import sys
import time

import torch
import torch.nn.functional as F

from bncourse.torch import RecipeCNN
from bncourse.torch.folding import fold_model

QUICK = "--quick" in sys.argv or os.environ.get("BNCOURSE_BENCH_QUICK", "") not in ("", "0")
REPEATS = 3 if QUICK else 15
NUMBER = 2 if QUICK else 5


def best_time(functions, *, repeats=REPEATS, number=NUMBER):
    """Mejor tiempo de CPU por llamada de cada función, alternándolas en cada repetición."""
    best = {name: float("inf") for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.process_time()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.process_time() - start) / number)
    return best


def training_step(model, optimizer, x, y):
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def main() -> int:
    torch.set_num_threads(int(os.environ.get("BNCOURSE_BENCH_THREADS", "1")))
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    x64 = torch.randn(64, 3, 32, 32, generator=generator)
    y64 = torch.randint(0, 10, (64,), generator=generator)
    x256 = torch.randn(256, 3, 32, 32, generator=generator)
    models = {"con BN": RecipeCNN("batch"), "sin BN": RecipeCNN("none")}
    print(
        f"Hilos de PyTorch: {torch.get_num_threads()}; núcleos: {os.cpu_count()}; núcleos de"
        f" cálculo: {torch.backends.cpu.get_cpu_capability()}; carga media al empezar:"
        f" {os.getloadavg()[0]:.2f}.",
        flush=True,
    )

    steps = {}
    for name, model in models.items():
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        steps[name] = lambda m=model, o=optimizer: training_step(m, o, x64, y64)
    for fn in steps.values():  # calentamiento: la primera llamada paga costes de una sola vez
        fn()
    train = best_time(steps)

    bn_model, none_model = models["con BN"].eval(), models["sin BN"].eval()
    folded = fold_model(bn_model)
    with torch.no_grad():
        infer = {
            "con BN": lambda: bn_model(x256),
            "plegada": lambda: folded(x256),
            "sin BN": lambda: none_model(x256),
        }
        for fn in infer.values():
            fn()
        infer = best_time(infer)

    # Formato channels-last: mismos pesos y mismos datos, otra disposición en memoria.
    cl_model = models["con BN"]
    x64_cl, x256_cl = (x.contiguous(memory_format=torch.channels_last) for x in (x64, x256))
    cl_train = {}
    cl_net = RecipeCNN("batch").to(memory_format=torch.channels_last)
    cl_net.load_state_dict(cl_model.state_dict())
    cl_opt = torch.optim.Adam(cl_net.parameters(), lr=1e-3)
    plain_net = RecipeCNN("batch")
    plain_net.load_state_dict(cl_model.state_dict())
    plain_opt = torch.optim.Adam(plain_net.parameters(), lr=1e-3)
    cl_train["con BN"] = lambda: training_step(plain_net, plain_opt, x64, y64)
    cl_train["con BN, channels-last"] = lambda: training_step(cl_net, cl_opt, x64_cl, y64)
    for fn in cl_train.values():
        fn()
    cl_train = best_time(cl_train)
    cl_net.eval()
    plain_net.eval()
    compiled = None
    try:
        compiled = torch.compile(plain_net)
        with torch.no_grad():
            compiled(x256)  # compila aquí, fuera de la medición
    except Exception as err:  # noqa: BLE001 - sin compilador de C++ u otro fallo: se informa
        print(f"torch.compile no disponible aquí: {type(err).__name__}: {err}", flush=True)
        compiled = None
    with torch.no_grad():
        cl_infer = {
            "con BN": lambda: plain_net(x256),
            "con BN, channels-last": lambda: cl_net(x256_cl),
        }
        if compiled is not None:
            cl_infer["con BN, torch.compile"] = lambda: compiled(x256)
        for fn in cl_infer.values():
            fn()
        cl_infer = best_time(cl_infer)

    print(f"\n{'medición (tiempo de CPU)':<40} {'ms':>8}")
    for name, seconds in train.items():
        print(f"{'paso de entrenamiento (64), ' + name:<40} {1000 * seconds:8.1f}")
    for name, seconds in infer.items():
        print(f"{'inferencia (256), ' + name:<40} {1000 * seconds:8.1f}")
    for name, seconds in cl_train.items():
        print(f"{'paso de entrenamiento (64), ' + name:<40} {1000 * seconds:8.1f}")
    for name, seconds in cl_infer.items():
        print(f"{'inferencia (256), ' + name:<40} {1000 * seconds:8.1f}")
    print(f"Carga media al terminar: {os.getloadavg()[0]:.2f}.")
    print(f"Entrenamiento, con BN / sin BN: {train['con BN'] / train['sin BN']:.2f}")
    print(f"Inferencia, con BN / plegada: {infer['con BN'] / infer['plegada']:.2f}")
    print(f"Inferencia, plegada / sin BN: {infer['plegada'] / infer['sin BN']:.2f}")
    base_t, base_i = cl_train["con BN"], cl_infer["con BN"]
    print(
        f"Entrenamiento con BN, channels-last / normal: {cl_train['con BN, channels-last'] / base_t:.2f}"
    )
    print(
        f"Inferencia con BN, channels-last / normal: {cl_infer['con BN, channels-last'] / base_i:.2f}"
    )
    if "con BN, torch.compile" in cl_infer:
        print(
            f"Inferencia con BN, torch.compile / normal: {cl_infer['con BN, torch.compile'] / base_i:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
