# examples/finetune_onnx_pretrain.py DATA_DIR OUT.onnx — the PyTorch half of the finetune_onnx
# example: trains a small CNN on the digits 0-4 of data/digits (the training split; pixels / 255
# as clnn's IDX loader reads them) and exports it with torch.onnx.export for examples/finetune_onnx.c
# to import, give a new head and fine-tune on the digits 5-9.
#
# Trained, not random: fine-tuning only a new head on frozen features is worth doing when the
# features were learnt (here from the other five digits); with random frozen convolutions the
# head would be a linear probe on noise-like features. Training takes a few seconds on a CPU and
# is reproducible (seed 0, one thread).
#
# The network: conv 3x3x16 (pad 1) - batch norm - ReLU - conv 3x3x32 (pad 1) - batch norm - ReLU -
# max pool 2 - flatten - dense 128 - ReLU ("features") - dense 5 ("head"). The file has two
# outputs: "logits" [N, 5] and "features" [N, 128], so the importer can find the value before
# the head without knowing the exporter's node names. Exported in eval mode, opset 13 (batch
# norm folded into the convolutions by the exporter), dynamic batch. Needs Debian's
# python3-torch; exits 77 when it is missing.
import struct
import sys

try:
    import numpy as np
    import torch
except ImportError as e:
    print("finetune_onnx_pretrain.py: %s" % e)
    sys.exit(77)


def read_idx(path):
    with open(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        nd = magic & 0xFF
        dims = struct.unpack(">" + "I" * nd, f.read(4 * nd))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(16)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(32)
        self.fc = torch.nn.Linear(32 * 4 * 4, 128)
        self.head = torch.nn.Linear(128, 5)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = torch.relu(self.bn2(self.conv2(h)))
        h = torch.nn.functional.max_pool2d(h, 2).flatten(1)
        features = torch.relu(self.fc(h))
        return self.head(features), features


def main():
    data, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x = read_idx(data + "/train-images-idx3-ubyte").astype(np.float32) / 255.0
    y = read_idx(data + "/train-labels-idx1-ubyte").astype(np.int64)
    keep = y <= 4
    x = torch.from_numpy(x[keep]).unsqueeze(1)
    y = torch.from_numpy(y[keep])
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for epoch in range(15):
        model.train()
        perm = torch.randperm(len(y))
        for i in range(0, len(y), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx])[0], y[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x)[0].argmax(1) == y).float().mean().item()
    print("pretrained on the digits 0-4: %d images, training accuracy %.2f%%" % (len(y), 100 * acc))
    torch.onnx.export(model, x[:2], out, opset_version=13, input_names=["image"],
                      output_names=["logits", "features"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}, "features": {0: "N"}})
    print("wrote %s" % out)


main()
