# tests/onnx/resnet18_step.py OUTDIR — one training step of torchvision's ResNet-18 (random
# weights, seed 0) for tests/test_onnx_train.c. The model is exported first (opset 13, batch norm
# kept as BatchNormalization nodes: TrainingMode.PRESERVE of a model in eval mode, no folding
# into the convolutions) to OUTDIR/resnet18_train.onnx; then, in train mode (batch norm on batch
# statistics, running statistics updated with momentum 0.1), one SGD step (lr 0.1, no momentum,
# no weight decay) on the mean softmax cross-entropy of a batch of 2 random 3x64x64 images.
# Writes raw float32 / int32: x.f32 [2,3,64,64], labels.i32 [2], logits.f32 (train-mode forward
# before the step), and every float tensor of the state dict after the step, concatenated in
# after.f32, named in after.txt ("name count" per line). Needs python3-torch and
# python3-torchvision; exits 77 when they are missing.
import sys

try:
    import torch
    import torchvision
except ImportError as e:
    print("resnet18_step.py: %s" % e)
    sys.exit(77)

out = sys.argv[1]
torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None)
with torch.no_grad():  # batch-norm parameters and statistics away from their initial 1 and 0
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
model.eval()
x = torch.randn(2, 3, 64, 64)
labels = torch.tensor([3, 981])
torch.onnx.export(model, x, out + "/resnet18_train.onnx", opset_version=13,
                  training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                  input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.0, weight_decay=0.0)
opt.zero_grad()
logits = model(x)
loss = torch.nn.functional.cross_entropy(logits, labels)
loss.backward()
opt.step()
x.numpy().astype("float32").tofile(out + "/x.f32")
labels.numpy().astype("int32").tofile(out + "/labels.i32")
logits.detach().numpy().astype("float32").tofile(out + "/logits.f32")
with open(out + "/after.txt", "w") as names, open(out + "/after.f32", "wb") as data:
    for name, t in model.state_dict().items():
        if t.dtype != torch.float32:
            continue  # num_batches_tracked
        names.write("%s %d\n" % (name, t.numel()))
        data.write(t.detach().numpy().astype("float32").tobytes())
print("loss %.6f" % loss.item())
