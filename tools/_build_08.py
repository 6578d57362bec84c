"""Genera book/08_distribuido.ipynb (celdas sin ejecutar) desde este guion."""

import nbformat

cells = []


def md(text):
    cells.append(nbformat.v4.new_markdown_cell(text.strip("\n")))


def code(text):
    cells.append(nbformat.v4.new_code_cell(text.strip("\n")))


md(r"""
# BN en entrenamiento distribuido

Hasta aquí, cada red se ha entrenado en un solo proceso: el {term}`minilote <Minilote>` que ve
la normalización por lotes (BN) es el minilote del gradiente. Al repartir el entrenamiento entre
varios dispositivos deja de ser así, y es el primer sitio donde la dependencia de BN respecto al
minilote se nota en la práctica {cite:p}`wu2018group`. Este capítulo lo ejecuta de verdad con
`torch.distributed` y `DistributedDataParallel` (DDP) {cite:p}`li2020pytorch`, con varios
procesos en la CPU de esta máquina: mide qué pasa con las estadísticas de BN cuando cada
dispositivo ve pocas imágenes, construye una BN sincronizada entre réplicas y mira qué
estadísticas usa la red al evaluar.

Todo lo que hace falta para lanzar procesos desde un cuaderno vive en
`bncourse.torch.distributed`: los procesos se crean con `spawn`, así que solo pueden ejecutar
funciones de un módulo importable, no de una celda. La regla de la casa es que cada capítulo
importa un solo marco de trabajo; por eso la parte de Keras (`BatchNormalization(synchronized=True)`
bajo `tf.distribute.MirroredStrategy`) está en un cuaderno aparte,
[`08b_distribuido_keras`](08b_distribuido_keras).
""")


code(r"""
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.patches import FancyArrowPatch, Rectangle
from torch import nn

import bncourse
from bncourse.plotting import PALETTE, set_book_style
from bncourse.torch import (
    RecipeCNN,
    call_all,
    count_parameters,
    cross_replica_check,
    ddp_gradients,
    ddp_train,
    evaluate,
    launch,
    make_loader,
    mnist_tensors,
    recompute_bn_stats,
    train_like_ddp,
    use_per_device_batchnorm,
)

SEED = bncourse.chapter_seed()  # BNCOURSE_SEED, o 0 si no está definida
torch.set_num_threads(1)  # un hilo: los procesos de DDP se reparten los núcleos
set_book_style()

train_set, test_set = mnist_tensors(
    6400, 2000, flatten=False, standardize=True, seed=bncourse.derive_seed(SEED, "subconjunto")
)
train, test = train_set.tensors, test_set.tensors
print(f"MNIST: {len(train[0])} imágenes de entrenamiento y {len(test[0])} de prueba")
""")

md(r"""
## 1. Paralelismo de datos

En el {term}`paralelismo de datos <Paralelismo de datos>`, cada uno de los $N$ dispositivos
guarda una copia completa de la red (una {term}`réplica <Réplica>`) y procesa su parte del
minilote global: con un minilote global de $B$ imágenes, cada réplica ve $B/N$. Tras la
retropropagación, una {term}`reducción global <Reducción global>` (*all-reduce*) promedia los
gradientes, así que todas las réplicas dan el mismo paso. Para las capas sin estado eso equivale
exactamente a entrenar con el minilote de $B$ en un solo dispositivo. Para BN no: cada réplica
normaliza con la media y la varianza de **sus** $B/N$ imágenes. Con `nn.BatchNorm2d` bajo DDP,
el minilote de las estadísticas es un minilote «fantasma» de $B/N$ imágenes que nadie ha
elegido: lo decide el número de dispositivos.
""")

code(r"""
fig, ax = plt.subplots(figsize=(8, 2.8))
ax.set_axis_off()
ax.set(xlim=(0, 10), ylim=(0, 4))
ax.add_patch(Rectangle((0.3, 3.0), 9.4, 0.6, color=PALETTE[0], alpha=0.25))
ax.text(5, 3.3, "minilote global: B = 64 imágenes", ha="center", va="center")
for r in range(4):
    x0 = 0.3 + r * 2.4
    ax.add_patch(Rectangle((x0, 1.2), 2.0, 1.0, color=PALETTE[1 + r % 3], alpha=0.3))
    ax.text(x0 + 1.0, 1.85, f"réplica {r}", ha="center", va="center")
    ax.text(x0 + 1.0, 1.45, "BN con 16 imágenes", ha="center", va="center", fontsize=9)
    ax.add_patch(FancyArrowPatch((x0 + 1.0, 3.0), (x0 + 1.0, 2.25), arrowstyle="->",
                                 mutation_scale=12))
ax.annotate("", xy=(9.7, 0.7), xytext=(0.3, 0.7), arrowprops={"arrowstyle": "<->"})
ax.text(5, 0.35, "reducción global de los gradientes (la media de las 4 réplicas)", ha="center")
ax.set_title("Paralelismo de datos con 4 dispositivos")
plt.show()
""")

md(r"""
## 2. BN entre réplicas, desde cero

Para normalizar con las estadísticas del minilote global no hace falta reunir las imágenes:
basta con tres números por canal. Cada réplica $r$ calcula, sobre sus valores de un canal,
cuántos hay ($n_r$), su suma ($S_r$) y la suma de sus cuadrados ($Q_r$); una reducción global
los suma y cada réplica obtiene

$$
n = \sum_r n_r, \qquad \mu = \frac{1}{n}\sum_r S_r, \qquad
\sigma^2 = \frac{1}{n}\sum_r Q_r - \mu^2 ,
$$

la media y la varianza (sesgada) de todo el minilote, aunque las réplicas tengan trozos de
tamaños distintos. Hacia atrás pasa lo mismo: el gradiente de BN
{cite:p}`ioffe2015batch` solo necesita dos sumas más por canal, $\sum dy$ y
$\sum dy\,\hat x$, y otra reducción global las completa. Es lo que hace `nn.SyncBatchNorm` en GPU.
Primero, la idea sin procesos: cuatro réplicas simuladas con una lista de tensores, una
reducción global que es una suma, y la comparación con una sola BN sobre el minilote entero
(una demostración: las dos fórmulas son la misma).
""")

code(r"""
def all_reduce(tensors):
    # Lo que hace dist.all_reduce: cada réplica recibe la suma de los tensores de todas.
    total = torch.stack(tensors).sum(dim=0)
    return [total.clone() for _ in tensors]


def cross_replica_bn(shards, eps=1e-5):
    channels = shards[0].shape[1]
    dims = [0, 2, 3]
    local = [
        torch.cat([torch.tensor([s.numel() / channels], dtype=s.dtype), s.sum(dims), s.square().sum(dims)])
        for s in shards
    ]
    outputs = []
    for s, reduced in zip(shards, all_reduce(local), strict=True):
        n, total, squares = reduced[0], reduced[1 : channels + 1], reduced[channels + 1 :]
        mean = total / n
        var = squares / n - mean.square()
        outputs.append((s - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps))
    return outputs


bncourse.seed_everything(bncourse.derive_seed(SEED, "capa-demo"))
conv = nn.Conv2d(1, 8, 3).double()
with torch.no_grad():
    activations = conv(train[0][:32].double())
sizes = [5, 11, 3, 13]  # trozos de tamaños distintos
shards = list(activations.split(sizes))
together = torch.cat(cross_replica_bn(shards))
reference = F.batch_norm(activations, None, None, training=True, eps=1e-5)
per_replica = torch.cat([F.batch_norm(s, None, None, training=True, eps=1e-5) for s in shards])
demo_diff = float((together - reference).abs().max())
replica_diff = float((per_replica - reference).abs().max())
print(f"BN entre réplicas simulada frente a una BN sobre las 32 imágenes: diferencia < 1e-12: {demo_diff < 1e-12}")
print(f"BN de cada réplica por separado: diferencia máxima {replica_diff:.2f}")
""")

code(r"""
assert demo_diff < 1e-12
assert replica_diff > 0.1  # cada réplica normalizando sola da otra cosa
""")

md(r"""
`bncourse.torch.CrossReplicaBatchNorm` hace esto con procesos de verdad: es un `nn.Module` con
los parámetros, los búferes (`running_mean`, `running_var`, `num_batches_tracked`) y los modos
de `nn.BatchNorm2d`, y en modo de entrenamiento, dentro de un grupo de procesos, calcula sus
estadísticas con una pequeña `torch.autograd.Function` que hace un `dist.all_reduce` de
$(n, S, Q)$ hacia delante y otro de $(\sum dy, \sum dy\,\hat x)$ hacia atrás. Actualiza
`running_var` con la corrección $n/(n-1)$ del número **global** de valores. En CPU hace falta:
`nn.SyncBatchNorm` se niega a trabajar con tensores de CPU dentro de un grupo de procesos, y DDP
rechaza un modelo con `SyncBatchNorm` que no esté en GPU. `convert_model(model)` sustituye cada
BN de un modelo, como `nn.SyncBatchNorm.convert_sync_batchnorm`.

Arrancar un proceso cuesta segundos (cada uno importa PyTorch), así que el capítulo lanza solo
dos veces y hace varias cosas en cada lanzamiento (`call_all`): con 4 procesos y con 2, compara
la capa con una sola BN sobre el minilote entero (en `float64`, con trozos de tamaños
distintos), mide los gradientes de un paso de DDP y entrena la red del experimento siguiente.
Todo se prepara antes: la red inicial (la misma para todos, con la misma semilla derivada) y
los argumentos.
""")

code(r"""
GLOBAL_BATCH = 64
EPOCHS = 1
LR = 0.05
ORDER_SEED = bncourse.derive_seed(SEED, "orden")


def new_model(norm="batch"):
    bncourse.seed_everything(bncourse.derive_seed(SEED, "pesos"))
    return RecipeCNN(norm, in_channels=1, image_size=28)


g = torch.Generator().manual_seed(bncourse.derive_seed(SEED, "gradiente-demo"))
grad_demo = torch.randn(activations.shape, generator=g, dtype=torch.float64)
gamma = torch.rand(8, generator=g, dtype=torch.float64) + 0.5
beta = torch.randn(8, generator=g, dtype=torch.float64)
x_step, y_step = train[0][:GLOBAL_BATCH].double(), train[1][:GLOBAL_BATCH]
ddp_options = {"epochs": EPOCHS, "lr": LR, "seed": ORDER_SEED}


def calls(world, sizes):
    per_device = GLOBAL_BATCH // world
    todo = [
        (cross_replica_check, (activations, grad_demo, sizes), {"weight": gamma, "bias": beta}),
        (ddp_gradients, (new_model().double(), x_step, y_step), {}),
        (ddp_gradients, (new_model().double(), x_step, y_step), {"cross_replica": True}),
        (ddp_train, (new_model(), train, test),
         {**ddp_options, "batch_size": per_device, "broadcast_buffers": True}),
    ]
    if world == 2:  # 2 procesos ocupan los 2 núcleos: los demás entrenamientos van aquí
        todo += [
            (ddp_train, (new_model(), train, test),
             {**ddp_options, "batch_size": per_device, "broadcast_buffers": False}),
            (ddp_train, (new_model(), train, test),
             {**ddp_options, "batch_size": per_device, "cross_replica": True}),
        ]
    return todo


results = {
    4: launch(call_all, 4, args=(calls(4, [5, 11, 3, 13]),), timeout=500),
    2: launch(call_all, 2, args=(calls(2, [12, 20]),), timeout=500),
}
print("Lanzamientos terminados: 4 procesos y 2 procesos")
""")

code(r"""
def global_bn_reference():
    bn = nn.BatchNorm2d(8).double()
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
    for _ in range(2):  # cross_replica_check da dos pasos
        inp = activations.clone().requires_grad_(True)
        bn.zero_grad()
        out = bn(inp)
        (out * grad_demo).sum().backward()
    return {"output": out.detach(), "grad_input": inp.grad, "grad_weight": bn.weight.grad,
            "grad_bias": bn.bias.grad, "running_mean": bn.running_mean, "running_var": bn.running_var}


ref = global_bn_reference()
worst = {}
for world, res in results.items():
    layer = [r[0]["cross"] for r in res]
    plain = [r[0]["plain"] for r in res]
    diffs = {key: float((torch.cat([c[key] for c in layer]) - ref[key]).abs().max())
             for key in ("output", "grad_input")}
    for key in ("grad_weight", "grad_bias", "running_mean", "running_var"):
        diffs[key] = max(float((c[key] - ref[key]).abs().max()) for c in layer)
    worst[world] = max(diffs.values())
    plain_diff = float((torch.cat([p["output"] for p in plain]) - ref["output"]).abs().max())
    print(f"{world} procesos: salida, gradientes (entrada, γ, β) y búferes iguales a los de una sola "
          f"BN (diferencia < 1e-10): {worst[world] < 1e-10}; BN por réplica: diferencia de la "
          f"salida {plain_diff:.1f}")
""")

code(r"""
for world in (2, 4):
    assert worst[world] < 1e-10
    plain = torch.cat([r[0]["plain"]["output"] for r in results[world]])
    assert float((plain - ref["output"]).abs().max()) > 0.1
""")

md(r"""
Con 2 y con 4 procesos, la salida, el gradiente de la entrada, los de $\gamma$ y $\beta$ y las
estadísticas de población de `CrossReplicaBatchNorm` coinciden con los de una sola
`nn.BatchNorm2d` sobre las 32 imágenes juntas hasta el redondeo de `float64` (menos de
$10^{-10}$), también con trozos de 5, 11, 3 y 13 imágenes. La BN de cada réplica por separado
da otra salida.

Falta una comprobación antes de medir. Con BN normal, lo que hace DDP equivale, en un solo
proceso, a partir el minilote global en $N$ trozos consecutivos y normalizar cada uno por
separado (BN «fantasma» por dispositivo, `use_per_device_batchnorm`), y con la BN entre réplicas
equivale a una BN normal sobre el minilote global. Si los gradientes de un paso coinciden, el
barrido puede simular en un proceso los tamaños que no lanzamos con procesos reales.
""")

code(r"""
def single_process_gradients(model):
    model.zero_grad()
    F.cross_entropy(model(x_step), y_step).backward()
    return {name.replace(".bn.", "."): p.grad for name, p in model.named_parameters()}


grad_gap = {}
for world, res in results.items():
    ghost = single_process_gradients(use_per_device_batchnorm(new_model().double(), world))
    whole = single_process_gradients(new_model().double())
    per_device = max(float((r[1][k] - ghost[k]).abs().max()) for r in res for k in ghost)
    cross = max(float((r[2][k] - whole[k]).abs().max()) for r in res for k in whole)
    grad_gap[world] = (per_device, cross)
    ghost_vs_global = max(float((ghost[k] - whole[k]).abs().max()) for k in whole)
    print(f"{world} procesos: DDP con BN = BN fantasma por dispositivo: {per_device < 1e-10}; "
          f"DDP con BN entre réplicas = BN global: {cross < 1e-10}; las dos difieren entre sí: "
          f"{ghost_vs_global > 1e-4}")
""")

code(r"""
for world in (2, 4):
    assert max(grad_gap[world]) < 1e-10
""")

md(r"""
## 3. Imágenes por dispositivo, medidas

El experimento de {cite:t}`wu2018group` (su figura 1), a escala de esta máquina: la red
convolucional del capítulo de PyTorch (`RecipeCNN`, aquí con imágenes de 28 × 28 y un canal),
sobre **MNIST** y no CIFAR-10 porque el capítulo debe ejecutarse en menos de tres minutos en
dos núcleos (6400 imágenes de entrenamiento y 2000 de prueba). Minilote global fijo de 64
imágenes, una época (100 pasos) de SGD con momento 0.9 y tasa de aprendizaje 0.05, los mismos
pesos iniciales y los mismos minilotes globales en todos los casos: con $N$ dispositivos,
`DistributedSampler` reparte las 64 imágenes de cada paso entre las réplicas, y solo cambia qué
imágenes comparten estadísticas. Las estadísticas de BN se calculan sobre 2, 4, 8, 16 y 32
imágenes por dispositivo (32, 16, 8, 4 y 2 dispositivos). Los puntos de 16 y 32 imágenes son
los entrenamientos con DDP de los lanzamientos anteriores (4 y 2 procesos); los de 2, 4 y 8 se
simulan en un proceso con la BN fantasma por dispositivo, cuya equivalencia acabamos de
comprobar. La BN entre réplicas (entrenada con DDP y 2 procesos) y GroupNorm no dependen de
cómo se reparta el minilote: un solo entrenamiento de cada una.
""")

code(r"""
runs = {}
ghost_models = {}
for per_device in (2, 4, 8):
    devices = GLOBAL_BATCH // per_device
    model = use_per_device_batchnorm(new_model(), devices)
    runs["BN por dispositivo", per_device] = train_like_ddp(
        model, train, test, world_size=devices, batch_size=per_device, **ddp_options
    )
    ghost_models[per_device] = model
runs["BN por dispositivo", 16] = results[4][0][3].history
runs["BN por dispositivo", 32] = results[2][0][3].history
runs["BN entre réplicas", 64] = results[2][0][5].history
runs["GroupNorm", 64] = train_like_ddp(
    new_model("group"), train, test, world_size=1, batch_size=GLOBAL_BATCH, **ddp_options
)
PER_DEVICE = (2, 4, 8, 16, 32)
accuracy = {k: h.test_accuracy[-1] for k, h in runs.items()}
train_loss = {k: h.train_loss[-1] for k, h in runs.items()}
for (name, b), value in accuracy.items():
    label = f"{name}, {b} imágenes por dispositivo" if name.startswith("BN por") else name
    bncourse.record_figure("08_distribuido", f"exactitud {label} (%)", 100 * value, seed=SEED)
    bncourse.record_figure("08_distribuido", f"pérdida de entrenamiento {label}", train_loss[name, b], seed=SEED)
""")

code(r"""
# NBVAL_IGNORE_OUTPUT
print("imágenes por dispositivo   exactitud de prueba   pérdida de entrenamiento (época)")
for b in PER_DEVICE:
    print(f"{b:>10}  (BN)              {100 * accuracy['BN por dispositivo', b]:5.1f} %"
          f"              {train_loss['BN por dispositivo', b]:.3f}")
for name in ("BN entre réplicas", "GroupNorm"):
    print(f"{name:>22}        {100 * accuracy[name, 64]:5.1f} %              {train_loss[name, 64]:.3f}")
""")

code(r"""
fig, ax = plt.subplots(figsize=(7, 3.8))
ax.plot(PER_DEVICE, [100 * accuracy["BN por dispositivo", b] for b in PER_DEVICE], "o-",
        color=PALETTE[0], label="BN por dispositivo")
ax.axhline(100 * accuracy["BN entre réplicas", 64], color=PALETTE[1], ls="--",
           label="BN entre réplicas (64 imágenes)")
ax.axhline(100 * accuracy["GroupNorm", 64], color=PALETTE[2], ls=":", label="GroupNorm")
ax.set_xscale("log", base=2)
ax.set_xticks(PER_DEVICE, [str(b) for b in PER_DEVICE])
ax.set(xlabel="Imágenes por dispositivo (minilote global de 64)", ylabel="Exactitud de prueba (%)",
       title="MNIST, una época: estadísticas de BN por dispositivo")
ax.legend()
plt.show()
""")

code(r"""
loss = {b: train_loss["BN por dispositivo", b] for b in PER_DEVICE}
acc = {b: accuracy["BN por dispositivo", b] for b in PER_DEVICE}
cross, group = accuracy["BN entre réplicas", 64], accuracy["GroupNorm", 64]
# Cuantas menos imágenes por dispositivo, peor entrena BN: la pérdida de la época sube.
assert loss[2] > loss[4] + 0.5 and loss[4] > loss[8] + 0.1 and loss[8] > loss[32] + 0.05
assert train_loss["BN entre réplicas", 64] < loss[8]
# Con 2 imágenes por dispositivo la exactitud se hunde; con 8 o más queda cerca de la BN global.
assert acc[2] < cross - 0.30 and acc[2] < group - 0.30
assert min(acc[b] for b in (8, 16, 32)) > cross - 0.08
# GroupNorm no depende del reparto: supera con creces a la BN de 2 imágenes.
assert group > acc[2] + 0.30 and group > 0.85
""")

md(r"""
Con las semillas 0, 1 y 2 (`make seeds SEEDS="0 1 2" NOTEBOOKS=book/08_distribuido.ipynb`, que
cambia el subconjunto, los pesos iniciales y el orden de las imágenes), la exactitud de prueba
tras una época queda en estos intervalos (mínimo–máximo), y las aserciones de la celda anterior
se cumplen con las tres:

CIFRAS_TABLA

- **Con 2 imágenes por dispositivo, BN se hunde**: la pérdida de entrenamiento de la época es
  varias veces mayor y la exactitud de prueba queda decenas de puntos por debajo. Es el
  resultado de {cite:t}`wu2018group` en ImageNet (34.7 % de error con 2 imágenes por GPU frente
  a 23.6 % con 32), aquí en pequeño.
- **Desde unas 8 imágenes por dispositivo la exactitud ya está cerca de la de la BN global**,
  aunque la pérdida de entrenamiento sigue bajando con más imágenes por dispositivo; el ruido de
  una sola época (unos puntos de una semilla a otra) tapa diferencias menores.
- **La BN entre réplicas** da, por construcción, la red entrenada con la BN del minilote global:
  no depende del número de dispositivos. **GroupNorm** tampoco depende, y queda muy por encima
  de la BN de 2 imágenes.

{cite:t}`goyal2017accurate` entrenan con 256 GPU y calculan a propósito las estadísticas de BN
en cada una, sobre 32 imágenes: así el minilote de las estadísticas no cambia al escalar el
minilote global (la pérdida que optimizan no depende del número de GPU) y no pagan ninguna
comunicación en BN. Lo que importa es que cada dispositivo tenga bastantes imágenes; cuando no
las tiene (detección, segmentación, vídeo), hace falta sincronizar BN o cambiar de
normalización.
""")

md(r"""
## 4. Qué estadísticas ve la evaluación

Las estadísticas de población también son locales: cada réplica actualiza sus `running_mean` y
`running_var` con sus propios trozos. `DistributedDataParallel(..., broadcast_buffers=True)`
(el valor por defecto; en esta versión de PyTorch se llama `forward_sync_buffers`) copia los
búferes del rango 0 a todos los rangos **al principio** de cada propagación; con `False` cada
rango conserva los suyos. Al terminar, ¿qué tiene cada rango? Los dos entrenamientos con BN por
dispositivo de 2 procesos (32 imágenes por dispositivo) solo difieren en esa opción.
""")

code(r"""
def max_gap(runs_by_rank):
    first = runs_by_rank[0].bn_stats
    return max(
        float(np.abs(r.bn_stats[name][key] - first[name][key]).max())
        for r in runs_by_rank[1:] for name in first for key in ("running_mean", "running_var")
    )


copied = [r[3] for r in results[2]]
kept = [r[4] for r in results[2]]
gap_copied, gap_kept = max_gap(copied), max_gap(kept)
print("Los rangos terminan con búferes distintos: con broadcast_buffers=True "
      f"{gap_copied > 0}, con False {gap_kept > 0}")
print(f"Con True la distancia al rango 0 es menor que con False: {gap_copied < gap_kept}")
""")

code(r"""
# NBVAL_IGNORE_OUTPUT
for name, group_runs in (("True", copied), ("False", kept)):
    accs = ", ".join(f"{100 * r.history.test_accuracy[-1]:.1f} %" for r in group_runs)
    print(f"broadcast_buffers={name}: exactitud de prueba de los rangos 0 y 1: {accs}")
print(f"distancia máxima de los búferes al rango 0: {gap_copied:.3f} (True), {gap_kept:.3f} (False)")
""")

code(r"""
assert gap_copied > 0 and gap_kept > 0
assert gap_copied < gap_kept
""")

md(r"""
Incluso con `broadcast_buffers=True` los rangos terminan con búferes distintos: la copia se hace
antes de cada propagación, y la última propagación de cada rango vuelve a actualizarlos con su
trozo. Lo habitual es evaluar (y guardar) el modelo del rango 0, cuyas estadísticas son la media
móvil de **sus** trozos (de 32 imágenes aquí): las demás réplicas no han contribuido nada. Con pocas
imágenes por dispositivo, esas estadísticas son ruidosas. El remedio es el del capítulo de
desventajas: **reestimar** las estadísticas de población al terminar, con
`recompute_bn_stats`, pasando los datos de entrenamiento sin gradientes en minilotes grandes.
""")

code(r"""
def rank0_model(run):
    model = new_model()
    model.load_state_dict(run.state_dict)
    return model


loader = make_loader(train_set, 256)
before, after = {}, {}
for per_device, model in ((2, ghost_models[2]), (16, rank0_model(results[4][0][3]))):
    before[per_device] = evaluate(model, test)[1]
    recompute_bn_stats(model, loader)
    after[per_device] = evaluate(model, test)[1]
    bncourse.record_figure("08_distribuido", f"exactitud reestimada, {per_device} imágenes (%)",
                           100 * after[per_device], seed=SEED)
""")

code(r"""
# NBVAL_IGNORE_OUTPUT
for per_device in before:
    print(f"{per_device:>2} imágenes por dispositivo: exactitud con las estadísticas del rango 0 "
          f"{100 * before[per_device]:.1f} %, reestimadas {100 * after[per_device]:.1f} %")
""")

code(r"""
# Reestimar no empeora la red, pero no arregla un entrenamiento con 2 imágenes por dispositivo.
assert after[2] > before[2] - 0.01 and after[16] > before[16] - 0.01
assert after[2] < accuracy["BN entre réplicas", 64] - 0.25
""")

md(r"""
CIFRAS_REESTIMADAS

## 5. El coste de sincronizar

La BN entre réplicas añade, en cada paso, **una reducción global por capa BN hacia delante y
otra hacia atrás**, y son pequeñas: $2C + 1$ números por capa hacia delante y $2C$ hacia atrás
($C$ canales). La red de este capítulo tiene cuatro capas BN (32, 64, 64 y 64 canales), así que
cada paso reduce 452 números hacia delante y 448 hacia atrás, frente a los unos 60 000
gradientes que DDP reduce en cualquier caso. Lo caro no es el volumen sino la **latencia**: DDP
solapa la reducción de los gradientes con la retropropagación, mientras que cada reducción de BN
bloquea la capa siguiente hasta que llega. Con una interconexión rápida (NVLink, InfiniBand) y
pocas capas es un coste pequeño; con muchas capas BN, muchos nodos o una red lenta, son decenas
de esperas por paso. Por eso {cite:t}`goyal2017accurate` no sincronizan BN, y la sincronizan
quienes tienen pocas imágenes por dispositivo (por ejemplo, en detección). Aquí, en una CPU
con 2 procesos, el cociente de tiempos por paso es este (depende de la máquina y de
su carga: no se comprueba). Primero, los números que se reducen:
""")

code(r"""
bn_layers = [m for m in new_model().modules() if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d)]
forward_numbers = sum(2 * m.num_features + 1 for m in bn_layers)
backward_numbers = sum(2 * m.num_features for m in bn_layers)
gradients = count_parameters(new_model())
print(f"{len(bn_layers)} capas BN: {forward_numbers} números reducidos hacia delante y "
      f"{backward_numbers} hacia atrás por paso; DDP reduce {gradients} gradientes")
assert (len(bn_layers), forward_numbers, backward_numbers) == (4, 452, 448)
assert 55_000 < gradients < 65_000
""")

code(r"""
# NBVAL_IGNORE_OUTPUT
epoch_seconds = {name: r.history.seconds[-1] for name, r in (("por dispositivo", copied[0]),
                                                             ("entre réplicas", results[2][0][5]))}
ratio = epoch_seconds["entre réplicas"] / epoch_seconds["por dispositivo"]
print(f"tiempo de la época, BN entre réplicas / BN por dispositivo (2 procesos): {ratio:.2f}")
""")

md(r"""
## 6. En GPU

El mismo código sirve en una máquina con varias GPU: `launch(..., backend="nccl")`,
`ddp_train` usa entonces la GPU de su rango (`cuda:0`, `cuda:1`...) y
`CrossReplicaBatchNorm`, con tensores de GPU, delega en la propagación de `nn.SyncBatchNorm`
(sobre NCCL), así que no hace falta cambiar el modelo. Las salidas guardadas de este capítulo son
las de la CPU con `gloo`.

## Resumen

Bajo DDP, `nn.BatchNorm2d` normaliza cada réplica con sus $B/N$ imágenes, un minilote de
estadísticas que fija el número de dispositivos. Con 2 imágenes por dispositivo la red entrena
mucho peor; con unas 8 o más, la exactitud queda cerca de la de la BN global. La BN entre
réplicas (una reducción global de $n$, $\sum x$ y $\sum x^2$ por capa) da exactamente la BN del
minilote global, también en el gradiente, a cambio de una espera por capa y paso. Las
estadísticas de población siguen siendo las del rango 0 (o las de cada rango): conviene
reestimarlas al terminar.

## Ejercicios

```{exercise}
:label: ej-dist-backward

Escriba el gradiente de BN respecto a su entrada, $\partial L/\partial x_i$, en función de
$dy_i$, $\hat x_i$, $\gamma$, $\sigma$ y dos medias sobre el minilote. ¿Qué tiene que sumar la
reducción global de la retropropagación para que cada réplica calcule el gradiente de la BN
global con solo sus $x_i$?
```

```{solution} ej-dist-backward
:class: dropdown

Con $y_i = \gamma \hat x_i + \beta$ y $\hat x_i = (x_i - \mu)/\sigma$,
$\frac{\partial L}{\partial x_i} = \frac{\gamma}{\sigma}\left(dy_i - \overline{dy} -
\hat x_i\,\overline{dy\,\hat x}\right)$, con las medias sobre los $n$ valores del minilote
global. Cada réplica conoce sus $dy_i$ y $\hat x_i$ (calculados con la $\mu$ y la $\sigma$
globales); le faltan las dos medias, así que basta con reducir $\sum dy$ y $\sum dy\,\hat x$
por canal (y dividir por el $n$ global, que ya se redujo hacia delante). Es lo que hace
`CrossReplicaBatchNorm` en su `backward`.
```

```{exercise}
:label: ej-dist-una-imagen

Una `nn.BatchNorm1d` en modo de entrenamiento rechaza un minilote de una sola fila
(«Expected more than 1 value per channel»). Bajo DDP, con un minilote global que no es múltiplo
del número de procesos, una réplica puede recibir una sola imagen. ¿Qué pasa con BN por
dispositivo y qué pasa con `CrossReplicaBatchNorm`? (Las pruebas de `tests/test_distributed.py`
usan trozos de 1, 2, 3 y 6 imágenes.)
```

```{solution} ej-dist-una-imagen
:class: dropdown

Con BN por dispositivo, la réplica de una fila no puede calcular una varianza (la de un solo
valor es 0 y la salida sería $\beta$ para todas las características): PyTorch lo rechaza, y en
una capa convolucional, donde sí hay varios valores por canal, normaliza con las posiciones de
una sola imagen. La BN entre réplicas no necesita más de un valor **en cada réplica**, sino más de
uno por canal **en total**: la media y la varianza salen de las sumas reducidas, con el $n$
global, así que una réplica con una sola imagen se normaliza con las estadísticas de todo el
minilote y su gradiente es el de la BN global.
```

```{exercise}
:label: ej-dist-goyal

{cite:t}`goyal2017accurate` escalan el minilote global de 256 a 8192 imágenes manteniendo 32
imágenes por GPU en las estadísticas de BN. Si en su lugar sincronizaran BN entre las 256 GPU,
¿qué cambiaría en la función que optimizan y en la regla de escalar la tasa de aprendizaje?
```

```{solution} ej-dist-goyal
:class: dropdown

Con BN local, la pérdida de cada GPU es la de BN sobre 32 imágenes, y la pérdida total es la
media de $k$ copias de la misma función: al multiplicar el número de GPU solo cambia cuántas
muestras promedia el gradiente, que es el supuesto de su regla lineal (tasa proporcional al
minilote global). Con BN sincronizada, las estadísticas serían las de 8192 imágenes: otra
función (menos ruido en las estadísticas, menos efecto regularizador), que además cambia con el
número de GPU, y la regla lineal dejaría de comparar la misma pérdida. Además, añadiría una
espera por capa BN y paso entre 256 GPU.
```
""")

nb = nbformat.v4.new_notebook()
nb.cells = cells
nb.metadata = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "version": "3.11.7"},
}
nbformat.write(nb, "book/08_distribuido.ipynb")
