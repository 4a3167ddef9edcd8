# tests/onnx/resnet18.py OUTDIR — exports torchvision's ResNet-18 (random weights, seed 0, eval
# mode: batch norm folded into the convolutions by the exporter) to OUTDIR/resnet18.onnx (opset 13,
# dynamic batch) with an input batch (OUTDIR/x.f32, [2, 3, 112, 112]) and PyTorch's logits
# (OUTDIR/y.f32, [2, 1000]) as raw float32, for tests/test_onnx.c. Needs Debian's python3-torch and
# python3-torchvision; exits 77 when they are missing.
import sys

try:
    import torch
    import torchvision
except ImportError as e:
    print("resnet18.py: %s" % e)
    sys.exit(77)

out = sys.argv[1]
torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None)
model.eval()
x = torch.randn(2, 3, 112, 112)
with torch.no_grad():
    y = model(x)
torch.onnx.export(model, x, out + "/resnet18.onnx", opset_version=13, input_names=["image"],
                  output_names=["logits"], dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
x.numpy().astype("float32").tofile(out + "/x.f32")
y.numpy().astype("float32").tofile(out + "/y.f32")
