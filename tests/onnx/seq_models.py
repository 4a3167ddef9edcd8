# tests/onnx/seq_models.py OUTDIR — small sequence models exported by PyTorch (random weights,
# seed 0) for tests/test_onnx_seq.c, each as OUTDIR/<name>.onnx with its input (<name>.in: int32
# ids or float32, raw) and PyTorch's outputs (<name>.out0, <name>.out1: float32, raw):
#   emb_ln_lstm13  nn.Embedding -> nn.LayerNorm -> nn.LSTM(batch_first) -> nn.Linear, opset 13
#                  (the layer norm written out as ReduceMean ... Add); outputs y [N,T,3], h_n
#   emb_ln_lstm17  the same at opset 17 (LayerNormalization)
#   lstm_last      float [N,T,F] -> nn.LSTM -> last step y[:, -1], h_n.squeeze(0) and h_n[-1]
#                  -> Linear
#   ln_image       nn.LayerNorm([4, 5]) over the two last axes of [N, 3, 4, 5], opset 17
#   lstm2          nn.LSTM(num_layers=2, batch_first) (each layer's zero state a Slice of one
#                  ConstantOfShape; the second layer reads the first's squeezed time-major Y)
#   gru_seq        float [N,T,F] -> nn.GRU(batch_first) -> y [N,T,H] and h_n, opset 13
#   gru_last       nn.GRU -> last step y[:, -1], h_n.squeeze(0) and h_n[-1] -> Linear, opset 17
#   gru_lbr0       gru_seq with the GRU's linear_before_reset set to 0 (which clnn refuses);
#                  made with python3-onnx, left out when it is missing
#   seqlens_full   emb_ln_lstm13 with sequence_lens = [8, 8, 8] given (the full length: the
#                  same outputs), and seqlens_short with [8, 5, 8] (which clnn refuses); made
#                  with python3-onnx, left out when it is missing
# and one SGD step of emb_ln_lstm13 (below). Needs Debian's python3-torch; exits 77 when it is
# missing.
import sys

try:
    import torch
except ImportError as e:
    print("seq_models.py: %s" % e)
    sys.exit(77)

out = sys.argv[1]
torch.manual_seed(0)


class EmbLnLstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(11, 6)
        self.ln = torch.nn.LayerNorm(6)
        self.lstm = torch.nn.LSTM(6, 5, batch_first=True)
        self.fc = torch.nn.Linear(5, 3)

    def forward(self, ids):
        y, (hn, cn) = self.lstm(self.ln(self.emb(ids)))
        return self.fc(y), hn


class LstmLast(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 7, batch_first=True)
        self.fc = torch.nn.Linear(21, 2)

    def forward(self, x):
        y, (hn, cn) = self.lstm(x)
        return self.fc(torch.cat([y[:, -1], hn.squeeze(0), hn[-1]], dim=1))


class GruSeq(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(5, 6, batch_first=True)

    def forward(self, x):
        return self.gru(x)


class GruLast(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(4, 7, batch_first=True)
        self.fc = torch.nn.Linear(21, 2)

    def forward(self, x):
        y, hn = self.gru(x)
        return self.fc(torch.cat([y[:, -1], hn.squeeze(0), hn[-1]], dim=1))


class Lstm2(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 6, num_layers=2, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0]


class LnImage(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln = torch.nn.LayerNorm([4, 5])
        with torch.no_grad():
            self.ln.weight.uniform_(0.5, 1.5)
            self.ln.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.ln(x)


def save(name, model, x, opset, nout):
    model.eval()
    with torch.no_grad():
        ys = model(x)
    if nout == 1:
        ys = (ys,)
    names = ["out%d" % k for k in range(nout)]
    torch.onnx.export(model, x, "%s/%s.onnx" % (out, name), opset_version=opset,
                      input_names=["x"], output_names=names,
                      dynamic_axes={"x": {0: "N"}})
    if x.dtype == torch.int64:
        x.numpy().astype("int32").tofile("%s/%s.in" % (out, name))
    else:
        x.numpy().astype("float32").tofile("%s/%s.in" % (out, name))
    for k, y in enumerate(ys):
        y.numpy().astype("float32").tofile("%s/%s.out%d" % (out, name, k))


emb = EmbLnLstm()
with torch.no_grad():  # LayerNorm's affine parameters away from 1 and 0
    emb.ln.weight.uniform_(0.5, 1.5)
    emb.ln.bias.uniform_(-0.5, 0.5)
ids = torch.randint(0, 11, (3, 8))
save("emb_ln_lstm13", emb, ids, 13, 2)
save("emb_ln_lstm17", emb, ids, 17, 2)
save("lstm_last", LstmLast(), torch.randn(3, 9, 4), 13, 1)
save("ln_image", LnImage(), torch.randn(2, 3, 4, 5), 17, 1)
save("lstm2", Lstm2(), torch.randn(4, 7, 4), 13, 1)
save("gru_seq", GruSeq(), torch.randn(3, 6, 5), 13, 2)
save("gru_last", GruLast(), torch.randn(3, 9, 4), 17, 1)

try:
    import onnx
    import shutil
    for name, lens in (("seqlens_full", [8, 8, 8]), ("seqlens_short", [8, 5, 8])):
        m = onnx.load("%s/emb_ln_lstm13.onnx" % out)
        m.graph.initializer.append(onnx.helper.make_tensor("lens", onnx.TensorProto.INT32, [3], lens))
        for node in m.graph.node:
            if node.op_type == "LSTM":
                node.input[4] = "lens"
        onnx.save(m, "%s/%s.onnx" % (out, name))
        for ext in ("in", "out0", "out1"):
            shutil.copy("%s/emb_ln_lstm13.%s" % (out, ext), "%s/%s.%s" % (out, name, ext))
    m = onnx.load("%s/gru_seq.onnx" % out)
    for node in m.graph.node:
        if node.op_type == "GRU":
            for a in node.attribute:
                if a.name == "linear_before_reset":
                    a.i = 0
    onnx.save(m, "%s/gru_lbr0.onnx" % out)
except ImportError:
    pass

# One SGD step (lr 0.5) of emb_ln_lstm13 on the objective sum(y * R) / N for a random R: R as
# emb_ln_lstm13.seed (float32), and every parameter before and after the step in
# emb_ln_lstm13.before.f32 / .after.f32, named in emb_ln_lstm13.after.txt ("name count" per
# line), PyTorch's names.
R = torch.randn(3, 8, 3)
R.numpy().astype("float32").tofile("%s/emb_ln_lstm13.seed" % out)
emb.train()
with open("%s/emb_ln_lstm13.before.f32" % out, "wb") as data:
    for name, t in emb.named_parameters():
        data.write(t.detach().numpy().astype("float32").tobytes())
opt = torch.optim.SGD(emb.parameters(), lr=0.5)
opt.zero_grad()
y, _ = emb(ids)
((y * R).sum() / 3).backward()
opt.step()
with open("%s/emb_ln_lstm13.after.txt" % out, "w") as names, \
        open("%s/emb_ln_lstm13.after.f32" % out, "wb") as data:
    for name, t in emb.named_parameters():
        names.write("%s %d\n" % (name, t.numel()))
        data.write(t.detach().numpy().astype("float32").tobytes())
